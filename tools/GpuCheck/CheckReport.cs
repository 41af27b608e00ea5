using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuCheck;

/// <summary>A step that cannot run here, and why: recorded as skipped, not failed.</summary>
internal sealed class SkipException(string reason) : Exception(reason);

/// <summary>
/// The check's results as one JSON document, written after every step so that a hang or a crash in native code still
/// leaves everything before it on disk. Each step runs on a thread of its own against a deadline: a native call that
/// never returns cannot be cancelled, so on a timeout the report is written and the process exits.
/// </summary>
internal sealed class CheckReport(string path)
{
    /// <summary>Every step that ran passed (some may be skipped).</summary>
    public const int Passed = 0;

    /// <summary>At least one step failed.</summary>
    public const int Failed = 1;

    /// <summary>NCCL is not loadable here: nothing on the GPU could be checked.</summary>
    public const int NcclAbsent = 2;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 3;

    /// <summary>A step did not return within its timeout; the process ended early.</summary>
    public const int Hung = 4;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly JsonArray _steps = [];

    public JsonObject Root { get; } = new() { ["tool"] = "GpuCheck", ["startedUtc"] = DateTime.UtcNow.ToString("O") };

    public bool AnyFailed { get; private set; }

    /// <summary>Runs <paramref name="body"/> as step <paramref name="name"/>; its result object is the step's detail. Returns whether it passed.</summary>
    public bool Step(string name, TimeSpan timeout, Func<JsonObject> body)
    {
        var step = new JsonObject { ["name"] = name };
        _steps.Add(step);
        Console.Error.WriteLine($"[gpu-check] {name} ...");
        var watch = Stopwatch.StartNew();
        JsonObject? detail = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                detail = body();
            }
            catch (Exception exception)
            {
                error = exception;
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        if (!thread.Join(timeout))
        {
            step["status"] = "failed";
            step["reason"] = $"did not return within {timeout.TotalSeconds:0} s (a native call hung); the check stops here";
            step["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 3);
            Finish(Hung);
            Environment.Exit(Hung);
        }

        step["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 3);
        switch (error)
        {
            case null:
                step["status"] = "passed";
                step["detail"] = detail;
                break;
            case SkipException skip:
                step["status"] = "skipped";
                step["reason"] = skip.Message;
                break;
            default:
                step["status"] = "failed";
                step["reason"] = $"{error.GetType().Name}: {error.Message}";
                step["stack"] = error.StackTrace;
                AnyFailed = true;
                break;
        }

        Console.Error.WriteLine($"[gpu-check] {name}: {step["status"]}");
        Write();
        return error is null;
    }

    /// <summary>Records the exit code and its meaning, writes the report and prints it.</summary>
    public int Finish(int exitCode)
    {
        Root["exitCode"] = exitCode;
        Root["exitMeaning"] = exitCode switch
        {
            Passed => "every step that ran passed",
            Failed => "at least one step failed",
            NcclAbsent => "NCCL is not loadable on this machine: no GPU step could run",
            Hung => "a step hung past its timeout; the check stopped there",
            _ => "usage error",
        };
        Root["finishedUtc"] = DateTime.UtcNow.ToString("O");
        Write();
        Console.WriteLine(Root.ToJsonString(Indented));
        return exitCode;
    }

    private void Write()
    {
        Root["steps"] = _steps.DeepClone();
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Root.ToJsonString(Indented));
        File.Move(temporary, path, overwrite: true);
    }
}
