using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;

namespace Orchestrator.Silo.Api;

/// <summary>
/// <c>/api/v1/stage-kinds</c>: what each kind consumes and produces, every option with its default, and whether some
/// registered worker runs it now (a stage of a kind none runs waits queued in a cluster, and is refused in standalone mode).
/// </summary>
public static class StageKindsApi
{
    public static IEndpointRouteBuilder MapStageKindsApiV1(this IEndpointRouteBuilder app)
    {
        var views = StageKindCatalog.All.Select(Describe).ToList();
        app.MapGet("/api/v1/stage-kinds", async (WorkerCapabilities workers) =>
            {
                var runnable = await workers.StageKindsAsync();
                return TypedResults.Ok(views.Select(view => view with { Runnable = runnable.Contains(view.Name) }).ToList());
            })
            .WithTags("Stage kinds")
            .WithSummary("Every stage kind: inputs, outputs, options with defaults, presets, and whether some registered worker runs it.")
            .RequireAuthorization(Security.SecurityHostingExtensions.Read);
        return app;
    }

    private static StageKindView Describe(StageKind kind)
    {
        var defaults = OptionsBinder.ToJson(Activator.CreateInstance(kind.OptionsType)!);
        return new StageKindView(
            kind.Name,
            kind.Description,
            [.. kind.Inputs.Select(input => new InputView(input.Name, [.. input.Accepts.Select(type => type.Name)], input.Optional, input.IsList, input.Description)
            {
                AcceptsByOption = kind.InputTypesByOption.FirstOrDefault(rule => rule.Input == input.Name) is { } rule
                    ? new InputTypesByOptionView(rule.Option, rule.Types.ToDictionary(entry => entry.Key, entry => entry.Value.Select(type => type.Name).ToList()))
                    : null,
                Decides = kind.InputDecides.FirstOrDefault(rule => rule.Input == input.Name) is { } decides
                    ? new InputDecidesView([.. decides.Options], decides.What)
                    : null,
                Needs = input.Needs == DatasetContent.None ? null : DatasetContents.Names(input.Needs),
                NeededWhen = kind.InputsNeededByType.Where(rule => rule.Needs.Contains(input.Name)).ToList() is { Count: > 0 } rules
                    ? [.. rules.Select(rule => new InputNeededWhenView(rule.Input, [.. rule.Types.Select(type => type.Name)], rule.Why))]
                    : null,
                NeedsByOption = kind.InputContentsByOption.FirstOrDefault(rule => rule.Input == input.Name) is { } needs
                    ? new InputNeedsByOptionView(needs.Option, needs.Needs.ToDictionary(entry => entry.Key, entry => DatasetContents.Names(entry.Value)))
                    : null,
            })],
            [.. kind.Outputs.Select(output => new OutputView(output.Name, output.Type.Name, output.Description, output.When is { } when ? new OutputConditionView(when.Option, when.Values) : null)
            {
                Holds = output.Holds.Count == 0
                    ? null
                    : [.. output.Holds.Select(hold => new DatasetHoldsView(DatasetContents.Names(hold.Content)[0], hold.When?.ToString()))],
            })],
            [.. OptionsBinder.OptionProperties(kind.OptionsType).Select(property => Option(property, defaults))],
            kind.Presets.ToDictionary(preset => preset.Key, preset => preset.Value.DeepClone().AsObject()));
    }

    private static OptionView Option(PropertyInfo property, JsonObject defaults)
    {
        var name = OptionsBinder.OptionName(property);
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var range = property.GetCustomAttribute<RangeAttribute>();
        return new OptionView(
            name,
            type switch
            {
                _ when type == typeof(int) || type == typeof(long) => "integer",
                _ when type == typeof(double) => "number",
                _ when type == typeof(bool) => "boolean",
                _ when type.IsEnum => "enum",
                _ => "string",
            },
            defaults[name]?.DeepClone(),
            property.GetCustomAttribute<OptionAttribute>()?.Description ?? "",
            property.GetCustomAttribute<RequiredAttribute>() is not null,
            type.IsEnum ? [.. OptionsBinder.EnumValues(type)] : null,
            range?.Minimum?.ToString(),
            range?.Maximum?.ToString());
    }
}

/// <summary>A stage kind as the catalog endpoint shows it.</summary>
public sealed record StageKindView(
    string Name, string Description, List<InputView> Inputs, List<OutputView> Outputs, List<OptionView> Options, Dictionary<string, JsonObject> Presets)
{
    /// <summary>Whether some registered worker (or this host's own) runs the kind now.</summary>
    public bool Runnable { get; init; }
}

/// <summary>An input of a stage kind: the artifact types it accepts.</summary>
public sealed record InputView(string Name, List<string> Accepts, bool Optional, bool List, string Description)
{
    /// <summary>When an option's value narrows the types the input takes (e.g. <c>evaluate</c>'s task): the option and the types per value.</summary>
    public InputTypesByOptionView? AcceptsByOption { get; init; }

    /// <summary>When the input, bound, decides options a spec may then not set (e.g. a Q-Former's shape from its text init).</summary>
    public InputDecidesView? Decides { get; init; }

    /// <summary>A dataset input: what each bound dataset must hold, one of (<c>captions</c>, <c>vqa_questions</c>, <c>nlvr2_statements</c>).</summary>
    public List<string>? Needs { get; init; }

    /// <summary>When an option's value decides what the datasets must hold instead (e.g. <c>evaluate</c>'s task).</summary>
    public InputNeedsByOptionView? NeedsByOption { get; init; }

    /// <summary>An optional input that must be bound when another input is bound to one of some types (e.g. <c>evaluate</c>'s <c>llm</c> for a BLIP-2 checkpoint).</summary>
    public List<InputNeededWhenView>? NeededWhen { get; init; }
}

/// <summary>The input is needed when input <paramref name="Input"/> is bound to an artifact of one of <paramref name="Types"/>, for <paramref name="Why"/>.</summary>
public sealed record InputNeededWhenView(string Input, List<string> Types, string Why);

/// <summary>What the datasets of an input must hold for each value of <paramref name="Option"/>.</summary>
public sealed record InputNeedsByOptionView(string Option, Dictionary<string, List<string>> Needs);

/// <summary>A dataset output holds <paramref name="Content"/>, always or when the producer's option <paramref name="When"/> says (e.g. "vqa_questions above 0").</summary>
public sealed record DatasetHoldsView(string Content, string? When);

/// <summary>The artifact types an input takes for each value of <paramref name="Option"/>.</summary>
public sealed record InputTypesByOptionView(string Option, Dictionary<string, List<string>> Types);

/// <summary>The options a bound input decides, and what they set.</summary>
public sealed record InputDecidesView(List<string> Options, string What);

/// <summary>An output of a stage kind.</summary>
public sealed record OutputView(string Name, string Type, string Description, OutputConditionView? When)
{
    /// <summary>A dataset output: what it holds, each always or under a condition on the producer's options.</summary>
    public List<DatasetHoldsView>? Holds { get; init; }
}

/// <summary>The output exists only when the option takes one of the values.</summary>
public sealed record OutputConditionView(string Option, IReadOnlyList<string> Values);

/// <summary>An option of a stage kind, with its default and bounds.</summary>
public sealed record OptionView(
    string Name, string Type, JsonNode? Default, string Description, bool Required, List<string>? Values, string? Minimum, string? Maximum);
