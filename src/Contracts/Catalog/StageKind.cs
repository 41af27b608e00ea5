using System.Text.Json.Nodes;

namespace Orchestrator.Contracts.Catalog;

/// <summary>What the orchestrator and the workers agree a stage kind is: its inputs, outputs and options.</summary>
public sealed record StageKind
{
    /// <summary>The name used in specs, e.g. <c>blip.pretrain</c>.</summary>
    public required string Name { get; init; }

    public required string Description { get; init; }

    public IReadOnlyList<InputSlot> Inputs { get; init; } = [];

    public IReadOnlyList<OutputSlot> Outputs { get; init; } = [];

    /// <summary>The typed options class; its public settable properties are the options, named in snake_case.</summary>
    public required Type OptionsType { get; init; }

    /// <summary>Named sets of option values; a spec picks one with the <c>preset</c> option and may override any value.</summary>
    public IReadOnlyDictionary<string, JsonObject> Presets { get; init; } = new Dictionary<string, JsonObject>();

    /// <summary>Options that need an input: when one is set, the stage must bind at least one of its inputs.</summary>
    public IReadOnlyList<OptionNeed> OptionNeeds { get; init; } = [];

    /// <summary>Options a bound input decides instead: a spec that binds the input may not set them.</summary>
    public IReadOnlyList<InputDecides> InputDecides { get; init; } = [];

    /// <summary>Options whose value narrows the artifact types an input takes (e.g. <c>evaluate</c>'s task and its checkpoint).</summary>
    public IReadOnlyList<OptionSelectsInputTypes> InputTypesByOption { get; init; } = [];

    /// <summary>Inputs that must be bound when another is bound to an artifact of some type (e.g. a BLIP-2 checkpoint and the frozen LLM it references).</summary>
    public IReadOnlyList<TypeNeedsInputs> InputsNeededByType { get; init; } = [];

    /// <summary>Options whose value decides what the datasets of an input must hold (e.g. <c>evaluate</c>'s task and its dataset).</summary>
    public IReadOnlyList<OptionSelectsInputContents> InputContentsByOption { get; init; } = [];

    /// <summary>Whether a run of the kind trains data-parallel on a gang of several workers (<c>resources.workers</c> above 1).</summary>
    public bool TrainsAsGang { get; init; }

    public InputSlot? FindInput(string name) => Inputs.FirstOrDefault(input => input.Name == name);

    public OutputSlot? FindOutput(string name) => Outputs.FirstOrDefault(output => output.Name == name);
}

/// <summary>
/// When option <paramref name="Option"/> (snake_case) is set, at least one of <paramref name="AnyOfInputs"/> must be
/// bound; <paramref name="Why"/> ends the error a spec without them gets.
/// </summary>
public sealed record OptionNeed(string Option, IReadOnlyList<string> AnyOfInputs, string Why);

/// <summary>
/// When input <paramref name="Input"/> is bound, it decides <paramref name="Options"/> (snake_case), so a spec may not set
/// them; <paramref name="What"/> says what they set (e.g. "the Q-Former's shape").
/// </summary>
public sealed record InputDecides(string Input, IReadOnlyList<string> Options, string What);

/// <summary>
/// Input <paramref name="Input"/> takes, for each value of option <paramref name="Option"/> (snake_case, as specs write
/// it), only the artifact types of <paramref name="Types"/>, matched exactly: a checkpoint that fits the input in general
/// may not fit what the option asks of it.
/// </summary>
public sealed record OptionSelectsInputTypes(string Option, string Input, IReadOnlyDictionary<string, IReadOnlyList<ArtifactType>> Types);

/// <summary>
/// When input <paramref name="Input"/> is bound to an artifact of one of <paramref name="Types"/> (matched exactly),
/// inputs <paramref name="Needs"/> must be bound too; <paramref name="Why"/> ends the error a spec without them gets.
/// </summary>
public sealed record TypeNeedsInputs(string Input, IReadOnlyList<ArtifactType> Types, IReadOnlyList<string> Needs, string Why);
