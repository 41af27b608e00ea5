using System.Text.Json.Nodes;

namespace Orchestrator.Contracts.Specs;

/// <summary>One stage of an experiment DAG.</summary>
public sealed record StageSpec
{
    /// <summary>Unique within the experiment; letters, digits, '-' and '_'.</summary>
    public required string Id { get; init; }

    /// <summary>A kind from the stage-kind catalog, e.g. <c>blip.pretrain</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Input name to the outputs it consumes (<c>stage.output</c>), one or a list.</summary>
    public IReadOnlyDictionary<string, InputBinding> Inputs { get; init; } = new Dictionary<string, InputBinding>();

    /// <summary>Extra ordering edges: stage ids that must succeed before this stage starts.</summary>
    public IReadOnlyList<string> Needs { get; init; } = [];

    /// <summary>The kind's options as written (snake_case keys); bound against the kind's options class.</summary>
    public JsonObject Config { get; init; } = [];

    public ResourceRequest Resources { get; init; } = new();

    public RetryPolicy Retry { get; init; } = new();

    /// <summary>Higher runs first among queued runs; FIFO within a priority.</summary>
    public int Priority { get; init; }
}
