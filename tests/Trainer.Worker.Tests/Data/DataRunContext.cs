using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Agent;

namespace Trainer.Worker.Tests.Data;

/// <summary>
/// A <see cref="StageRunContext"/> for running a data stage runner directly: a temp-folder artifact store, and a
/// report publisher that records what the run reports instead of sending it to a broker.
/// </summary>
internal sealed class DataRunContext
{
    private DataRunContext(StageRunContext context, TempFolderArtifactStore store, List<object> reports, FakeTimeProvider time)
    {
        Context = context;
        Store = store;
        Reports = reports;
        Time = time;
    }

    public StageRunContext Context { get; }

    public TempFolderArtifactStore Store { get; }

    /// <summary>The clock of the run and its store.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>Every report the run published, in order.</summary>
    public List<object> Reports { get; }

    public static DataRunContext Create(string kind, object options, string root, CacheRetention? cacheRetention = null, int rank = 0)
    {
        var stageKind = StageKindCatalog.Find(kind) ?? throw new ArgumentException($"no kind {kind}", nameof(kind));
        var time = new FakeTimeProvider();
        var reports = new List<object>();
        var publisher = new ReportPublisher(
            (message, _, _) =>
            {
                lock (reports)
                {
                    reports.Add(message);
                }

                return Task.CompletedTask;
            },
            time, NullLogger<ReportPublisher>.Instance, new ReportPublisherOptions());
        var store = new TempFolderArtifactStore(Path.Combine(root, "store"), time);
        var work = Path.Combine(root, "work");
        Directory.CreateDirectory(work);
        var run = new StartStageRun
        {
            RunId = "run-1",
            Attempt = 1,
            ExperimentId = "exp-1",
            StageId = "data",
            Kind = kind,
            OptionsJson = OptionsBinder.ToJson(options).ToJsonString(),
            Inputs = new Dictionary<string, IReadOnlyList<ArtifactReference>>(),
            WorldSize = rank + 1,
            Rank = rank,
            Rendezvous = new GangRendezvous { WorkerIds = [.. Enumerable.Range(1, rank + 1).Select(n => $"w{n}")], Group = "run-1" },
        };
        var context = new StageRunContext(
            run, stageKind, options, "cpu", work, store, new CheckpointResolver(store, NullLogger<CheckpointResolver>.Instance), publisher, time, TimeSpan.Zero, NullLogger.Instance, CancellationToken.None)
        {
            CacheRetention = cacheRetention ?? CacheRetention.Unbounded,
        };
        return new DataRunContext(context, store, reports, time);
    }
}
