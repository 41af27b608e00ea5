using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>A validated experiment, ready to be created.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentDraft")]
public sealed record ExperimentDraft
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required Dictionary<string, string> Labels { get; init; }
    [Id(2)] public required string SpecJson { get; init; }
    [Id(3)] public required string SpecHash { get; init; }
    [Id(4)] public required List<StageDefinition> Stages { get; init; }

    /// <summary>Who submitted it: the caller's id (e.g. <c>key:alice</c>), <c>anonymous</c> on an open API, <c>local</c> from the command line.</summary>
    [Id(5)] public string SubmittedBy { get; init; } = "";
}

/// <summary>What creating an experiment did.</summary>
[GenerateSerializer, Alias("CreateOutcome")]
public enum CreateOutcome
{
    Created,

    /// <summary>It existed already with the same spec: a retried request.</summary>
    AlreadyExisted,

    /// <summary>It existed already with a different spec: the idempotency key was reused.</summary>
    Conflict,

    /// <summary>Not created: the silo's line of creations is full (<see cref="CreationGate"/>); nothing was written.</summary>
    Busy,
}

/// <summary>What creating an experiment did, and when <see cref="CreateOutcome.Busy"/>, how long to wait before trying again.</summary>
[GenerateSerializer, Immutable, Alias("CreateResult")]
public sealed record CreateResult(
    [property: Id(0)] CreateOutcome Outcome,
    [property: Id(1)] TimeSpan RetryAfter = default)
{
    /// <summary>
    /// The experiment as it is once <see cref="CreateOutcome.Created"/> or <see cref="CreateOutcome.AlreadyExisted"/>, so the
    /// caller need not read it again (which would bring its waiting stages back into memory); null otherwise.
    /// </summary>
    [Id(2)] public ExperimentView? View { get; init; }
}
