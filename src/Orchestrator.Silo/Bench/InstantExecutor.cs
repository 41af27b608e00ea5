using System.Threading.Channels;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Silo.Bench;

/// <summary>
/// Stands in for workers in the benchmark: every assignment is reported started and completed at once, with
/// one artifact per output its kind declares. Reports are made from background loops, never from inside
/// <see cref="StartAsync"/>: the scheduler is waiting in that call and the report must reach it afterwards.
/// </summary>
internal sealed class InstantExecutor(IGrainFactory grains) : IStageRunDispatcher
{
    private readonly Channel<RunAssignment> _assignments = Channel.CreateUnbounded<RunAssignment>();
    private long _completed;

    public long Completed => Interlocked.Read(ref _completed);

    public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default) =>
        _assignments.Writer.WriteAsync(assignment, cancellationToken).AsTask();

    public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default) =>
        Task.CompletedTask;

    /// <summary>Runs <paramref name="loops"/> reporting loops until <paramref name="cancellationToken"/> ends them.</summary>
    public Task RunAsync(int loops, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(() => ReportLoopAsync(cancellationToken), CancellationToken.None)));

    private async Task ReportLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var assignment in _assignments.Reader.ReadAllAsync(cancellationToken))
            {
                var run = assignment.Run;
                var stage = grains.GetGrain<IStageGrain>(StageKey.Of(run.ExperimentId, run.StageId));
                await stage.ReportStartedAsync(new RunStartedReport(run.RunId, assignment.WorkerIds[0]));
                await stage.ReportCompletedAsync(new RunCompletedReport
                {
                    RunId = run.RunId,
                    Outputs = StageKindCatalog.Find(run.Kind)!.Outputs.ToDictionary(
                        output => output.Name,
                        output => new ArtifactRef { Uri = $"bench://{run.RunId}/{output.Name}", Type = output.Type.Name, RunId = run.RunId }),
                });
                Interlocked.Increment(ref _completed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
