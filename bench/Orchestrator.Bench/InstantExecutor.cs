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
}

/// <summary>Where the simulated workers' reports go: straight to the stage grains, or through the broker.</summary>
internal interface IInstantReports
{
    Task StartedAsync(InstantRun run);

    Task CompletedAsync(InstantRun run);
}

/// <summary>
/// Stands in for workers in the benchmark, the way a real worker agent behaves: a run is accepted at once (so a
/// broker message is acknowledged on accept) and reported started and completed from background loops, with one
/// artifact per output its kind declares. In memory it is the dispatcher itself; over a broker the simulated
/// worker's consumer hands it the runs it receives (<see cref="InstantRunConsumer"/>). Reports are never made from
/// inside <see cref="StartAsync"/>: the scheduler is waiting in that call and the report must reach it afterwards.
/// </summary>
internal sealed class InstantExecutor(IInstantReports reports) : IStageRunDispatcher, ITransportHealth
{
    private readonly Channel<InstantRun> _runs = Channel.CreateUnbounded<InstantRun>();

    /// <summary>Takes <paramref name="run"/> for reporting and returns at once.</summary>
    public void Accept(InstantRun run)
    {
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

    /// <summary>Runs <paramref name="loops"/> reporting loops until <paramref name="cancellationToken"/> ends them.</summary>
    public Task RunAsync(int loops, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(() => ReportLoopAsync(cancellationToken), CancellationToken.None)));

    private async Task ReportLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var run in _runs.Reader.ReadAllAsync(cancellationToken))
            {
                await reports.StartedAsync(run);
                await reports.CompletedAsync(run);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
