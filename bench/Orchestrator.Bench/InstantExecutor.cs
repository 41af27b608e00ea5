using System.Threading.Channels;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Bench;

/// <summary>A run as the benchmark's simulated workers see it.</summary>
internal sealed record InstantRun(string ExperimentId, string StageId, string RunId, string Kind, string WorkerId, int Rank)
{
    /// <summary>The artifact reference of each output the run's kind declares, by output name.</summary>
    public IEnumerable<(string Name, string Uri, string Type)> Outputs() =>
        StageKindCatalog.Find(Kind)!.Outputs.Select(output => (output.Name, $"bench://{RunId}/{output.Name}", output.Type.Name));

    /// <summary>The checkpoint a simulated run reports at <paramref name="step"/>.</summary>
    public static Grains.Artifacts.ArtifactRef Checkpoint(InstantRun run, long step) =>
        new() { Uri = $"bench://{run.RunId}/checkpoint-{step}", Type = "checkpoint", Step = step, RunId = run.RunId };
}

/// <summary>
/// How long a simulated run lasts and what it reports meanwhile: nothing (<see cref="Instant"/>: started, then completed),
/// or, like a real worker, progress every <see cref="ProgressEvery"/> and a checkpoint every <see cref="CheckpointEvery"/>
/// for <see cref="Duration"/>.
/// </summary>
internal sealed record RunShape(TimeSpan Duration, TimeSpan ProgressEvery, TimeSpan CheckpointEvery)
{
    public static RunShape Instant { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public bool IsInstant => Duration <= TimeSpan.Zero;
}

/// <summary>Where the simulated workers' reports go: straight to the stage grains, or through the broker.</summary>
internal interface IInstantReports
{
    Task StartedAsync(InstantRun run);

    Task ProgressAsync(InstantRun run, long step, long totalSteps);

    Task CheckpointAsync(InstantRun run, long step);

    Task CompletedAsync(InstantRun run);
}

/// <summary>
/// Stands in for workers in the benchmark, the way a real worker agent behaves: a run is accepted at once (so a
/// broker message is acknowledged on accept) and reported started and completed from background loops, with one
/// artifact per output its kind declares. In memory it is the dispatcher itself; over a broker the simulated
/// worker's consumer hands it the runs it receives (<see cref="InstantRunConsumer"/>). Reports are never made from
/// inside <see cref="StartAsync"/>: the scheduler is waiting in that call and the report must reach it afterwards.
/// </summary>
internal sealed class InstantExecutor(IInstantReports reports, BenchSettings settings) : IStageRunDispatcher, ITransportHealth
{
    private readonly Channel<InstantRun> _runs = Channel.CreateUnbounded<InstantRun>();
    private long _progressReports;
    private long _checkpointReports;
    private long _outstanding;
    private long _mostOutstanding;

    public long ProgressReports => Interlocked.Read(ref _progressReports);

    public long CheckpointReports => Interlocked.Read(ref _checkpointReports);

    /// <summary>
    /// The most runs accepted and not yet reported completed at once. Each holds a slot: near the simulated workers' slots,
    /// new runs wait for one, and dispatch latency measures the simulated workers rather than the orchestrator.
    /// </summary>
    public long MostOutstanding => Interlocked.Read(ref _mostOutstanding);

    /// <summary>Starts counting <see cref="MostOutstanding"/> afresh (after the warm-up).</summary>
    public void ResetMostOutstanding() => Interlocked.Exchange(ref _mostOutstanding, Interlocked.Read(ref _outstanding));

    /// <summary>Takes <paramref name="run"/> for reporting and returns at once.</summary>
    public void Accept(InstantRun run)
    {
        var outstanding = Interlocked.Increment(ref _outstanding);
        for (var most = Interlocked.Read(ref _mostOutstanding); outstanding > most; most = Interlocked.Read(ref _mostOutstanding))
        {
            Interlocked.CompareExchange(ref _mostOutstanding, outstanding, most);
        }

        if (!_runs.Writer.TryWrite(run))
        {
            throw new InvalidOperationException($"The benchmark's executor has stopped; run {run.RunId} was not accepted.");
        }
    }

    /// <summary>In memory there is no broker to lose: the simulated workers beat once and are always heard.</summary>
    public TransportStatus Check() => new(true, "the benchmark's simulated workers, in process");

    public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        var run = assignment.Run;
        Accept(new InstantRun(run.ExperimentId, run.StageId, run.RunId, run.Kind, assignment.WorkerIds[0], Rank: 0));
        return Task.CompletedTask;
    }

    public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default) =>
        Task.CompletedTask;

    /// <summary>
    /// Runs <paramref name="loops"/> reporting loops until <paramref name="cancellationToken"/> ends them. In memory, instant
    /// runs are reported by the loops one after another. Over a broker, and for runs that last, each run is reported from a
    /// task of its own, as each runs in a worker slot of its own: there every report awaits its publisher confirm, and one
    /// loop per simulated worker, a report at a time, fell behind the dispatches on a loaded machine, so that runs held
    /// every slot (<see cref="MostOutstanding"/> at 1,034 of 1,024) and new runs waited seconds for one (issue 29 item 8).
    /// </summary>
    public Task RunAsync(int loops, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(() => ReportLoopAsync(cancellationToken), CancellationToken.None)));

    private async Task ReportLoopAsync(CancellationToken cancellationToken)
    {
        var running = new List<Task>();
        try
        {
            await foreach (var run in _runs.Reader.ReadAllAsync(cancellationToken))
            {
                if (settings.Runs.IsInstant && settings.RabbitMq is null)
                {
                    await ReportInstantAsync(run);
                }
                else if (settings.Runs.IsInstant)
                {
                    running.RemoveAll(task => task.IsCompleted);
                    running.Add(Task.Run(() => ReportInstantAsync(run), CancellationToken.None));
                }
                else
                {
                    running.RemoveAll(task => task.IsCompleted);
                    running.Add(Task.Run(() => RunForAsync(run, settings.Runs, cancellationToken), CancellationToken.None));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running);
    }

    private async Task ReportInstantAsync(InstantRun run)
    {
        await reports.StartedAsync(run);
        await reports.CompletedAsync(run);
        Interlocked.Decrement(ref _outstanding);
    }

    /// <summary>A run that lasts: started, progress and checkpoints on their intervals, completed.</summary>
    private async Task RunForAsync(InstantRun run, RunShape shape, CancellationToken cancellationToken)
    {
        try
        {
            await reports.StartedAsync(run);
            var totalSteps = (long)(shape.Duration / shape.ProgressEvery);
            var nextCheckpoint = shape.CheckpointEvery;
            for (var step = 1L; step <= totalSteps; step++)
            {
                await Task.Delay(shape.ProgressEvery, cancellationToken);
                await reports.ProgressAsync(run, step, totalSteps);
                Interlocked.Increment(ref _progressReports);
                if (shape.ProgressEvery * step >= nextCheckpoint)
                {
                    nextCheckpoint += shape.CheckpointEvery;
                    await reports.CheckpointAsync(run, step);
                    Interlocked.Increment(ref _checkpointReports);
                }
            }

            await reports.CompletedAsync(run);
            Interlocked.Decrement(ref _outstanding);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
