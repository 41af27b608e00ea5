using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Agent;

/// <summary>
/// A test-only runner for <c>dataset.synthetic</c> that behaves as a training loop should: it resumes from its
/// checkpoint, reports every step, saves a checkpoint every few steps through the store, and on cancellation
/// saves where it got to and stops. <see cref="RunnerScript"/> holds it at a step or makes it throw.
/// </summary>
internal sealed class CheckpointingRunner(RunnerScript script) : IStageRunner
{
    public const string StepFile = "step.txt";

    public string Kind => "dataset.synthetic";

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var runId = context.Run.RunId;
        script.Enter(runId);
        try
        {
            var options = context.GetOptions<SyntheticDatasetOptions>();
            var state = Path.Combine(context.WorkDirectory, "state");
            Directory.CreateDirectory(state);
            var step = 0L;
            if (await context.FetchResumeCheckpointAsync(cancellationToken) is { } resume)
            {
                step = long.Parse(await File.ReadAllTextAsync(Path.Combine(resume.Directory, StepFile), cancellationToken));
            }

            try
            {
                while (step < script.TotalSteps)
                {
                    await script.BeforeStepAsync(runId, step + 1, context, cancellationToken);
                    step++;
                    await File.WriteAllTextAsync(Path.Combine(state, StepFile), $"{step}", CancellationToken.None);
                    context.Logger.LogInformation("Step {Step} done", step);
                    await context.ReportProgressAsync(step, script.TotalSteps, epoch: 0, new Dictionary<string, double> { ["loss"] = 1.0 / step });
                    if (step % script.CheckpointEvery == 0)
                    {
                        await context.SaveCheckpointAsync(state, step);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await File.WriteAllTextAsync(Path.Combine(state, StepFile), $"{step}", CancellationToken.None);
                await context.SaveCheckpointAsync(state, step);
                throw;
            }

            var output = Path.Combine(context.WorkDirectory, "web");
            Directory.CreateDirectory(output);
            await File.WriteAllTextAsync(Path.Combine(output, "captions.txt"), $"{options.Images} captions", cancellationToken);
            var web = await context.CommitOutputAsync("web", output, cancellationToken: cancellationToken);
            return new StageRunResult
            {
                Outputs = new Dictionary<string, ArtifactReference> { ["web"] = web },
                Metrics = new Dictionary<string, double> { ["steps"] = step },
            };
        }
        finally
        {
            script.Exit(runId);
        }
    }
}

/// <summary>What <see cref="CheckpointingRunner"/> does in a test, and what it saw.</summary>
internal sealed class RunnerScript
{
    private readonly Lock _lock = new();
    private readonly List<string> _entered = [];
    private readonly Dictionary<string, RunGate> _gates = [];
    private int _running;

    public int TotalSteps { get; set; } = 3;

    public int CheckpointEvery { get; set; } = 2;

    /// <summary>Each run waits before this step until the test releases it.</summary>
    public long? HoldBeforeStep { get; set; }

    /// <summary>While held, the runner waits for the release only, as a runner that ignores cancellation would.</summary>
    public bool IgnoreCancellationWhileHeld { get; set; }

    /// <summary>Thrown before the given step.</summary>
    public (long Step, Exception Exception)? Failure { get; set; }

    public int MostConcurrent { get; private set; }

    /// <summary>Run ids in the order their runners started.</summary>
    public IReadOnlyList<string> Entered
    {
        get
        {
            lock (_lock)
            {
                return [.. _entered];
            }
        }
    }

    public RunGate Gate(string runId)
    {
        lock (_lock)
        {
            if (!_gates.TryGetValue(runId, out var gate))
            {
                gate = new RunGate();
                _gates[runId] = gate;
            }

            return gate;
        }
    }

    public void Enter(string runId)
    {
        lock (_lock)
        {
            _entered.Add(runId);
            MostConcurrent = Math.Max(MostConcurrent, ++_running);
        }
    }

    public void Exit(string runId)
    {
        lock (_lock)
        {
            _running--;
        }

        Gate(runId).Exited.TrySetResult();
    }

    public async Task BeforeStepAsync(string runId, long step, StageRunContext context, CancellationToken cancellationToken)
    {
        if (Failure is { } failure && failure.Step == step)
        {
            throw failure.Exception;
        }

        if (step == HoldBeforeStep)
        {
            var gate = Gate(runId);
            gate.Reached.TrySetResult();
            var release = IgnoreCancellationWhileHeld ? gate.Release.Task : gate.Release.Task.WaitAsync(cancellationToken);

            // While held, the run beats when the test asks it to, as an evaluation loop does per batch.
            while (true)
            {
                var beat = gate.Beats.Reader.ReadAsync(CancellationToken.None).AsTask();
                if (await Task.WhenAny(release, beat) == release)
                {
                    await release;
                    return;
                }

                context.Beat();
                (await beat).SetResult();
            }
        }
    }
}

/// <summary>Where a test meets one run of the runner.</summary>
internal sealed class RunGate
{
    /// <summary>The runner is waiting at the held step.</summary>
    public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held runner go on.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The runner returned or threw.</summary>
    public TaskCompletionSource Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Beat requests to the held runner; each is completed once it has beaten.</summary>
    public Channel<TaskCompletionSource> Beats { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

    /// <summary>Makes the held runner beat (<see cref="StageRunContext.Beat"/>) now, and waits until it has.</summary>
    public async Task BeatAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Beats.Writer.WriteAsync(done);
        await done.Task;
    }
}
