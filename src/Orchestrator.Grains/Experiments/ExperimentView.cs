using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>An experiment with every stage, as the API shows it.</summary>
[GenerateSerializer, Alias("ExperimentView")]
public sealed record ExperimentView
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required ExperimentStatus Status { get; init; }
    [Id(3)] public required DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset? EndedAt { get; init; }
    [Id(5)] public required Dictionary<string, string> Labels { get; init; }
    [Id(6)] public required List<StageView> Stages { get; init; }

    /// <summary>The caller that submitted it; only it, or a caller with the <c>operate</c> scope, may cancel, resume or rerun it.</summary>
    [Id(7)] public string SubmittedBy { get; init; } = "";
}

/// <summary>An experiment in a listing.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentSummary")]
public sealed record ExperimentSummary
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required ExperimentStatus Status { get; init; }
    [Id(3)] public required DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset? EndedAt { get; init; }
    [Id(5)] public required int Stages { get; init; }
    [Id(6)] public string SubmittedBy { get; init; } = "";

    /// <summary>The experiment's labels (the spec's <c>labels</c>); a listing can filter by one.</summary>
    [Id(7)] public Dictionary<string, string> Labels { get; init; } = [];

    /// <summary>Equal when every field is, the labels by content (a record compares a dictionary by reference).</summary>
    public bool Equals(ExperimentSummary? other) =>
        other is not null
        && Id == other.Id && Name == other.Name && Status == other.Status && CreatedAt == other.CreatedAt && EndedAt == other.EndedAt
        && Stages == other.Stages && SubmittedBy == other.SubmittedBy
        && Labels.Count == other.Labels.Count && Labels.All(label => other.Labels.TryGetValue(label.Key, out var value) && value == label.Value);

    public override int GetHashCode() => HashCode.Combine(Id, Status, CreatedAt, EndedAt);
}

/// <summary>Which artifact came from which stage run, made from which inputs.</summary>
[GenerateSerializer, Immutable, Alias("LineageView")]
public sealed record LineageView
{
    [Id(0)] public required string ExperimentId { get; init; }
    [Id(1)] public required List<LineageEntry> Artifacts { get; init; }
}

/// <summary>One artifact an experiment produced, with the run that made it and the artifacts that run consumed.</summary>
[GenerateSerializer, Immutable, Alias("LineageEntry")]
public sealed record LineageEntry
{
    [Id(0)] public required ArtifactRef Artifact { get; init; }

    /// <summary>The stage output it is, e.g. <c>pretrain.checkpoint</c>.</summary>
    [Id(1)] public required string Output { get; init; }

    [Id(2)] public required string StageId { get; init; }
    [Id(3)] public string? RunId { get; init; }
    [Id(4)] public required int Attempt { get; init; }

    /// <summary>Input name to the artifacts the run consumed.</summary>
    [Id(5)] public required Dictionary<string, List<ArtifactRef>> Inputs { get; init; }
}
