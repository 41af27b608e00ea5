using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Agent;

namespace Trainer.Worker.Tests;

/// <summary>
/// Runs stage runners one after another on one temp-folder artifact store, the way the orchestrator would chain them:
/// each run gets its options bound as a worker receives them (presets applied), its inputs by reference, and
/// optionally a checkpoint to resume from; every report it publishes is recorded.
/// </summary>
public sealed class StageChain(string root)
{
    private int _runs;

    internal TempFolderArtifactStore Store { get; } = new(Path.Combine(root, "store"), TimeProvider.System);

    /// <summary>Every report of every run, by run id, in order.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<object>> Reports { get; } = new();

    /// <summary>
    /// Runs <paramref name="runner"/> as stage <paramref name="stageId"/>; <paramref name="onReport"/> sees each report as
    /// it is published. Returns the run's result and its run id.
    /// </summary>
    public async Task<(StageRunResult Result, string RunId)> RunAsync(
        IStageRunner runner,
        string stageId,
        string optionsJson,
        IReadOnlyDictionary<string, IReadOnlyList<ArtifactReference>> inputs,
        ArtifactReference? resumeFrom = null,
        CancellationToken cancellationToken = default,
        Action<object>? onReport = null)
    {
        var (context, runId) = Context(runner.Kind, stageId, optionsJson, inputs, resumeFrom, onReport);
        return (await runner.RunAsync(context, cancellationToken), runId);
    }

    /// <summary>A context for one run of <paramref name="kind"/> and its run id (ids count up: run-1, run-2, ...).</summary>
    public (StageRunContext Context, string RunId) Context(
        string kind,
        string stageId,
        string optionsJson,
        IReadOnlyDictionary<string, IReadOnlyList<ArtifactReference>> inputs,
        ArtifactReference? resumeFrom = null,
        Action<object>? onReport = null)
    {
        var stageKind = StageKindCatalog.Find(kind) ?? throw new ArgumentException($"no kind {kind}", nameof(kind));
        var bound = OptionsBinder.Bind(stageKind, (JsonObject)JsonNode.Parse(optionsJson)!, "");
        Assert.Empty(bound.Errors);
        var runId = $"run-{Interlocked.Increment(ref _runs)}";
        var reports = Reports.GetOrAdd(runId, _ => new ConcurrentQueue<object>());
        var run = new StartStageRun
        {
            RunId = runId,
            Attempt = 1,
            ExperimentId = "exp-1",
            StageId = stageId,
            Kind = kind,
            OptionsJson = OptionsBinder.ToJson(bound.Options).ToJsonString(),
            Inputs = inputs,
            ResumeFrom = resumeFrom,
            WorldSize = 1,
            Rank = 0,
            Rendezvous = new GangRendezvous { WorkerIds = ["w1"], Group = runId },
        };
        var publisher = new ReportPublisher(
            (message, _, _) =>
            {
                reports.Enqueue(message);
                onReport?.Invoke(message);
                return Task.CompletedTask;
            },
            TimeProvider.System, NullLogger<ReportPublisher>.Instance, new ReportPublisherOptions());
        var work = Directory.CreateDirectory(Path.Combine(root, "work", runId)).FullName;
        var context = new StageRunContext(
            run, stageKind, bound.Options, "cpu", work, Store, new CheckpointResolver(Store, NullLogger<CheckpointResolver>.Instance), publisher,
            TimeProvider.System, TimeSpan.Zero, NullLogger.Instance, CancellationToken.None);
        return (context, runId);
    }

    public static IReadOnlyDictionary<string, IReadOnlyList<ArtifactReference>> Inputs(params (string Name, ArtifactReference Reference)[] inputs) =>
        inputs.GroupBy(input => input.Name).ToDictionary(group => group.Key, group => (IReadOnlyList<ArtifactReference>)[.. group.Select(input => input.Reference)]);
}
