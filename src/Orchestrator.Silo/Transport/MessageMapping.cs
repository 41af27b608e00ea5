using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Transport;

/// <summary>Converts between the wire contracts and the grains' own types, which version separately.</summary>
internal static class MessageMapping
{
    public static ArtifactRef ToGrain(this ArtifactReference reference, string? runId = null) => new()
    {
        Uri = reference.Uri,
        Type = reference.Type,
        Sha256 = reference.Sha256,
        Step = reference.Step,
        RunId = runId,
        ContentDigest = reference.ContentDigest,
    };

    public static ArtifactReference ToMessage(this ArtifactRef artifact) => new()
    {
        Uri = artifact.Uri,
        Type = artifact.Type,
        Sha256 = artifact.Sha256,
        Step = artifact.Step,
        ContentDigest = artifact.ContentDigest,
    };

    public static WorkerCapacity ToGrain(this WorkerCapacityInfo capacity) => new()
    {
        Slots = capacity.Slots,
        Device = capacity.Device,
        MemoryGib = capacity.MemoryGib,
        Labels = new Dictionary<string, string>(capacity.Labels),
        ImportRoots = [.. capacity.ImportRoots],
        StageKinds = [.. capacity.StageKinds],
        CollectiveBackends = [.. capacity.CollectiveBackends],
    };

    public static StartStageRun ToStartMessage(this RunAssignment assignment, int rank)
    {
        var run = assignment.Run;
        return new StartStageRun
        {
            RunId = run.RunId,
            Attempt = run.Attempt,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Kind = run.Kind,
            OptionsJson = run.OptionsJson,
            Inputs = run.Inputs.ToDictionary(
                input => input.Key,
                input => (IReadOnlyList<ArtifactReference>)[.. input.Value.Select(ToMessage)]),
            ResumeFrom = run.ResumeFrom?.ToMessage(),
            WorldSize = assignment.WorkerIds.Count,
            Rank = rank,
            Rendezvous = new GangRendezvous { WorkerIds = assignment.WorkerIds, Group = run.RunId, Generation = run.Attempt },
        };
    }
}
