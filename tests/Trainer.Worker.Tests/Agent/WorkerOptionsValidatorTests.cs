using Trainer.Worker.Runners.Gangs;

namespace Trainer.Worker.Tests.Agent;

public sealed class WorkerOptionsValidatorTests
{
    private readonly WorkerOptionsValidator _validator = new();

    [Fact]
    public void The_defaults_are_valid()
    {
        var result = _validator.Validate(null, new WorkerOptions { WorkerId = "gpu-node-1" });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once_with_its_key_and_fix()
    {
        var options = new WorkerOptions
        {
            WorkerId = "gpu node/1",
            Slots = 0,
            Device = "gpu",
            MemoryGib = -1,
            HeartbeatInterval = TimeSpan.Zero,
            DrainTimeout = TimeSpan.Zero,
            ProgressTimeout = TimeSpan.FromMilliseconds(500),
            ProgressInterval = TimeSpan.FromSeconds(-1),
            TorchThreads = -1,
            WorkDirectory = " ",
            HealthUrl = "localhost:5090",
            MetricsPort = 70000,
            MetricsAddress = "metrics.local",
        };

        var result = _validator.Validate(null, options);

        Assert.Equal(
            [
                "Worker:WorkerId is 'gpu node/1', which cannot name the queue worker-{id}; set it to 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. --Worker:WorkerId=gpu-node-1",
                "Worker:Slots is 0; set it to the runs this worker takes at once, 1 to 64, e.g. --Worker:Slots=2",
                "Worker:Device is 'gpu'; set it to one of auto, cpu, cuda",
                "Worker:MemoryGib is -1; set it to the device memory in GiB, or 0 to detect it",
                "Worker:HeartbeatInterval is 00:00:00; set it between 00:00:00.1 and 00:05:00, e.g. 00:00:05",
                "Worker:DrainTimeout is 00:00:00; set a positive time for runs to save a checkpoint when stopped, e.g. 00:00:15",
                "Worker:ProgressTimeout is 00:00:00.5000000; set the longest a run may go without a training step, evaluation batch or decoded shard, at least 00:00:01, e.g. 00:30:00",
                "Worker:ProgressInterval is -00:00:01; set it to zero or more, e.g. 00:00:01",
                "Worker:TorchThreads is -1; set it to the threads one operation may use, 1 to 1024 (e.g. the cores divided by the workers sharing them), or 0 for libtorch's default",
                "Worker:WorkDirectory is empty; set it to a writable folder for the runs' local files",
                "Worker:HealthUrl is 'localhost:5090'; set it to an http:// URL to serve /healthz on, e.g. http://0.0.0.0:5090",
                "Worker:MetricsPort is 70000; set it to the port to serve /metrics on, 1 to 65535 (e.g. 9464), or 0 to serve none",
                "Worker:MetricsAddress is 'metrics.local'; set it to the IP address to serve /metrics on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
            ],
            result.Failures);
    }

    [Fact]
    public void A_stop_timeout_that_leaves_the_reports_no_time_after_the_drain_is_refused()
    {
        var options = new WorkerOptions { WorkerId = "gpu-node-1", DrainTimeout = TimeSpan.FromSeconds(25), StopTimeout = TimeSpan.FromSeconds(28) };

        var result = _validator.Validate(null, options);

        Assert.Equal(
            [
                "Worker:StopTimeout is 00:00:28, which leaves less than 5 s after Worker:DrainTimeout (00:00:25) for the runs' final reports; set it to at least 00:00:30 " +
                "(and below the time the process is given to stop, e.g. Kubernetes' terminationGracePeriodSeconds), or lower Worker:DrainTimeout",
            ],
            result.Failures);
    }

    [Fact]
    public void Gang_settings_that_cannot_work_are_refused_with_their_keys_and_fix()
    {
        var options = new WorkerOptions
        {
            WorkerId = "gpu-node-1",
            Gang = new GangOptions { Address = " ", JoinTimeout = TimeSpan.Zero, CollectiveTimeout = TimeSpan.FromSeconds(-1) },
        };

        var result = _validator.Validate(null, options);

        Assert.Equal(
            [
                "Worker:Gang:Address is empty; set it to the address the gang's other workers reach this one at, e.g. the pod's IP, or 127.0.0.1 for workers of one machine",
                "Worker:Gang:JoinTimeout is 00:00:00; set how long a rank waits for the rest of its gang, e.g. 00:05:00",
                "Worker:Gang:CollectiveTimeout is -00:00:01; set how long one collective may take before the gang is given up, e.g. 00:05:00",
            ],
            result.Failures);
    }
}
