using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>An experiment's durable state: its spec, its stages' definitions, and what it last heard from each stage.</summary>
[GenerateSerializer, Alias("ExperimentState")]
public sealed class ExperimentState
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>The spec as submitted, normalised to JSON.</summary>
    [Id(2)] public string SpecJson { get; set; } = "";

    /// <summary>SHA-256 of the submitted body, to tell a retried POST from a different one with the same idempotency key.</summary>
    [Id(3)] public string SpecHash { get; set; } = "";

    [Id(4)] public ExperimentStatus Status { get; set; }
    [Id(5)] public DateTimeOffset? CreatedAt { get; set; }
    [Id(6)] public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The stages in the order the spec lists them.</summary>
    [Id(7)] public List<StageDefinition> Stages { get; set; } = [];

    /// <summary>Each stage's status as last notified, with the version it carried.</summary>
    [Id(8)] public Dictionary<string, StageRecord> StageRecords { get; set; } = [];

    [Id(9)] public bool Cancelled { get; set; }

    /// <summary>Who submitted it (<see cref="ExperimentDraft.SubmittedBy"/>); empty for experiments created before callers were recorded.</summary>
    [Id(10)] public string SubmittedBy { get; set; } = "";

    public bool Exists => CreatedAt is not null;
}

/// <summary>What the experiment knows of one stage without asking it.</summary>
[GenerateSerializer, Alias("StageRecord")]
public sealed class StageRecord
{
    [Id(0)] public StageStatus Status { get; set; }
    [Id(1)] public long Version { get; set; }
    [Id(2)] public Dictionary<string, ArtifactRef> Outputs { get; set; } = [];

    /// <summary>When the stage last changed status; a Succeeded stage's outputs became available then.</summary>
    [Id(3)] public DateTimeOffset ChangedAt { get; set; }
}
