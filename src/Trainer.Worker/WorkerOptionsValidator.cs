using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Trainer.Worker.Runners.Gangs;

namespace Trainer.Worker;

/// <summary>Checks <see cref="WorkerOptions"/> at start; each message names the key, the problem and the fix.</summary>
public sealed partial class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    private static readonly string[] Devices = ["auto", "cpu", "cuda"];

    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var key = (string property) => $"{WorkerOptions.Section}:{property}";
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.WorkerId) || options.WorkerId.Length > 100 || !WorkerIdPattern().IsMatch(options.WorkerId))
        {
            errors.Add($"{key(nameof(WorkerOptions.WorkerId))} is '{options.WorkerId}', which cannot name the queue worker-{{id}}; " +
                "set it to 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. --Worker:WorkerId=gpu-node-1");
        }

        if (options.Slots is < 1 or > 64)
        {
            errors.Add($"{key(nameof(WorkerOptions.Slots))} is {options.Slots}; set it to the runs this worker takes at once, 1 to 64, e.g. --Worker:Slots=2");
        }

        if (!Devices.Contains(options.Device))
        {
            errors.Add($"{key(nameof(WorkerOptions.Device))} is '{options.Device}'; set it to one of {string.Join(", ", Devices)}");
        }

        if (options.MemoryGib < 0 || double.IsNaN(options.MemoryGib))
        {
            errors.Add($"{key(nameof(WorkerOptions.MemoryGib))} is {options.MemoryGib}; set it to the device memory in GiB, or 0 to detect it");
        }

        if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(100) || options.HeartbeatInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{key(nameof(WorkerOptions.HeartbeatInterval))} is {options.HeartbeatInterval}; set it between 00:00:00.1 and 00:05:00, e.g. 00:00:05");
        }

        if (options.DrainTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key(nameof(WorkerOptions.DrainTimeout))} is {options.DrainTimeout}; set a positive time for runs to save a checkpoint when stopped, e.g. 00:00:15");
        }
        else if (options.StopTimeout < options.DrainTimeout + WorkerOptions.StopReserve)
        {
            errors.Add($"{key(nameof(WorkerOptions.StopTimeout))} is {options.StopTimeout}, which leaves less than {WorkerOptions.StopReserve.TotalSeconds:0} s after " +
                $"{key(nameof(WorkerOptions.DrainTimeout))} ({options.DrainTimeout}) for the runs' final reports; set it to at least {options.DrainTimeout + WorkerOptions.StopReserve} " +
                $"(and below the time the process is given to stop, e.g. Kubernetes' terminationGracePeriodSeconds), or lower {key(nameof(WorkerOptions.DrainTimeout))}");
        }

        if (options.ProgressTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{key(nameof(WorkerOptions.ProgressTimeout))} is {options.ProgressTimeout}; set the longest a run may go without a training step, evaluation batch or decoded shard, at least 00:00:01, e.g. 00:30:00");
        }

        if (options.ProgressInterval < TimeSpan.Zero)
        {
            errors.Add($"{key(nameof(WorkerOptions.ProgressInterval))} is {options.ProgressInterval}; set it to zero or more, e.g. 00:00:01");
        }

        if (options.TorchThreads is < 0 or > 1024)
        {
            errors.Add($"{key(nameof(WorkerOptions.TorchThreads))} is {options.TorchThreads}; set it to the threads one operation may use, 1 to 1024 (e.g. the cores divided by the workers sharing them), or 0 for libtorch's default");
        }

        foreach (var root in options.ImportRoots.Where(root => !Path.IsPathFullyQualified(root)))
        {
            errors.Add($"{key(nameof(WorkerOptions.ImportRoots))} holds '{root}', which is not an absolute path; give each import root as an absolute folder, e.g. --Worker:ImportRoots:0=/data/coco");
        }

        if (options.CacheMaxAge <= TimeSpan.Zero)
        {
            errors.Add($"{key(nameof(WorkerOptions.CacheMaxAge))} is {options.CacheMaxAge}; set how long runs' caches are kept, e.g. 30.00:00:00");
        }

        if (options.CacheMaxBytes <= 0)
        {
            errors.Add($"{key(nameof(WorkerOptions.CacheMaxBytes))} is {options.CacheMaxBytes}; set the bytes all runs' caches may take together, e.g. 214748364800 (200 GiB)");
        }

        if (string.IsNullOrWhiteSpace(options.WorkDirectory))
        {
            errors.Add($"{key(nameof(WorkerOptions.WorkDirectory))} is empty; set it to a writable folder for the runs' local files");
        }

        if (!Uri.TryCreate(options.HealthUrl, UriKind.Absolute, out var health) || health.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key(nameof(WorkerOptions.HealthUrl))} is '{options.HealthUrl}'; set it to an http:// URL to serve /healthz on, e.g. http://0.0.0.0:5090");
        }

        if (options.MetricsPort is < 0 or > 65535)
        {
            errors.Add($"{key(nameof(WorkerOptions.MetricsPort))} is {options.MetricsPort}; set it to the port to serve /metrics on, 1 to 65535 (e.g. 9464), or 0 to serve none");
        }

        if (!IPAddress.TryParse(options.MetricsAddress, out _))
        {
            errors.Add($"{key(nameof(WorkerOptions.MetricsAddress))} is '{options.MetricsAddress}'; set it to the IP address to serve /metrics on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)");
        }

        var gang = (string property) => $"{WorkerOptions.Section}:{nameof(WorkerOptions.Gang)}:{property}";
        if (string.IsNullOrWhiteSpace(options.Gang.Address))
        {
            errors.Add($"{gang(nameof(GangOptions.Address))} is empty; set it to the address the gang's other workers reach this one at, e.g. the pod's IP, or 127.0.0.1 for workers of one machine");
        }

        if (options.Gang.JoinTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{gang(nameof(GangOptions.JoinTimeout))} is {options.Gang.JoinTimeout}; set how long a rank waits for the rest of its gang, e.g. 00:05:00");
        }

        if (options.Gang.CollectiveTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{gang(nameof(GangOptions.CollectiveTimeout))} is {options.Gang.CollectiveTimeout}; set how long one collective may take before the gang is given up, e.g. 00:05:00");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex WorkerIdPattern();
}
