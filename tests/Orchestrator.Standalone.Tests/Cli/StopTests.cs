using System.Diagnostics;
using Xunit.Abstractions;

namespace Orchestrator.Standalone.Tests.Cli;

/// <summary>
/// The standalone host told to stop (SIGTERM) while <c>--run</c> trains: it exits within Worker:StopTimeout, the run's
/// checkpoint committed to the artifact folder and reported before the run's failure.
/// </summary>
public sealed class StopTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Worker:StopTimeout's default: the bound on a stopping host, below Kubernetes' 30 s.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>Real training, tiny, far longer than the test waits, with no periodic checkpoint: the stop writes the only one.</summary>
    private const string TrainingDag = """
        name: stop-training
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 64, human_images: 8, test_images: 8, image_size: 32, web_noise: 0.0, seed: 7 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
            config: { preset: tiny, max_steps: 5000, batch_size: 8, queue_size: 32, warmup_steps: 5, checkpoint_every_steps: 100000 }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("stop-").FullName;

    [Fact]
    public async Task The_standalone_host_sent_sigterm_mid_training_commits_a_checkpoint_and_exits_within_the_bound()
    {
        var dag = Path.Combine(_folder, "dag.yaml");
        await File.WriteAllTextAsync(dag, TrainingDag);
        using var host = ChildProcess.Start("standalone", BuiltHosts.Standalone, [.. StandaloneCommand.Run(dag, _folder), "--Worker:TorchThreads=1"]);

        await host.WaitForLineAsync("pretrain         Running attempt 1 step", Timeout);
        host.Terminate();
        var clock = Stopwatch.StartNew();
        Assert.True(await host.WaitForExitAsync(StopTimeout), $"the host was still running {StopTimeout.TotalSeconds:0} s after SIGTERM:\n{string.Join('\n', host.Lines)}");
        var exited = clock.Elapsed;
        output.WriteLine($"exited {exited.TotalSeconds:0.00} s after SIGTERM, with {host.ExitCode}");

        var lines = host.Lines.ToList();
        Assert.True(exited < StopTimeout, $"exited {exited.TotalSeconds:0.0} s after SIGTERM");
        Assert.Equal(1, host.ExitCode);
        Assert.Contains(lines, line => line.Contains("stderr: --run: the host was asked to stop before experiment exp-", StringComparison.Ordinal));
        var saved = lines.FindIndex(line => line.Contains("Checkpoint at step ", StringComparison.Ordinal) && line.Contains(" saved as file://", StringComparison.Ordinal));
        var failed = lines.FindIndex(line => line.Contains("Run failed (retryable): worker shutting down", StringComparison.Ordinal));
        Assert.InRange(saved, 0, failed - 1);
        var manifest = new Uri(lines[saved][(lines[saved].IndexOf(" saved as ", StringComparison.Ordinal) + " saved as ".Length)..].Trim()).LocalPath;
        Assert.StartsWith(Path.Combine(_folder, "artifacts"), manifest, StringComparison.Ordinal);
        Assert.True(File.Exists(manifest), $"{manifest} was not committed");
        Assert.Contains(lines, line => line.Contains("deregistered", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
