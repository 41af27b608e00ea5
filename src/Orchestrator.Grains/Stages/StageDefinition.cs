using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Stages;

/// <summary>A validated stage as its grain keeps it: kind, resolved options, inputs, what it waits for, and its policies.</summary>
[GenerateSerializer, Immutable, Alias("StageDefinition")]
public sealed record StageDefinition
{
    [Id(0)] public required string ExperimentId { get; init; }
    [Id(1)] public required string StageId { get; init; }
    [Id(2)] public required string Kind { get; init; }

    /// <summary>Every option of the kind, defaults and preset applied, as JSON with snake_case keys.</summary>
    [Id(3)] public required string OptionsJson { get; init; }

    [Id(4)] public required List<StageInput> Inputs { get; init; }

    /// <summary>Stages that must succeed first: producers of its inputs and its <c>needs</c>.</summary>
    [Id(5)] public required List<string> Upstream { get; init; }

    [Id(6)] public required ResourceNeeds Resources { get; init; }
    [Id(7)] public required RetrySettings Retry { get; init; }
    [Id(8)] public int Priority { get; init; }
}

/// <summary>One input of a stage and the outputs (<c>stage.output</c>) bound to it.</summary>
[GenerateSerializer, Immutable, Alias("StageInput")]
public sealed record StageInput
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required bool IsList { get; init; }
    [Id(2)] public required List<string> References { get; init; }
}

/// <summary>A stage's retry policy: attempts in all, and exponential backoff between them.</summary>
[GenerateSerializer, Immutable, Alias("RetrySettings")]
public sealed record RetrySettings
{
    [Id(0)] public int MaxAttempts { get; init; } = 3;
    [Id(1)] public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(10);
    [Id(2)] public double Multiplier { get; init; } = 2;
    [Id(3)] public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The wait before attempt <paramref name="nextAttempt"/> of a budget (2 for the first retry).</summary>
    public TimeSpan BackoffBefore(int nextAttempt)
    {
        var seconds = InitialBackoff.TotalSeconds * Math.Pow(Multiplier, Math.Max(0, nextAttempt - 2));
        return seconds >= MaxBackoff.TotalSeconds ? MaxBackoff : TimeSpan.FromSeconds(seconds);
    }
}
