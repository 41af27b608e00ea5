using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Grains.Specs;

public static partial class SpecValidator
{
    /// <summary>
    /// Every dataset bound to an input that needs some contents (<see cref="InputSlot.Needs"/>, or what an option selects,
    /// <see cref="StageKind.InputContentsByOption"/>) must hold one of them under its producer's options
    /// (<see cref="OutputSlot.Holds"/>): a VQA finetune bound to a split written without VQA questions is refused here,
    /// naming the binding, what the split holds, what the input needs and the producer's option that adds it. An output
    /// whose contents the catalog does not declare, or a producer whose options do not bind (its own errors say why), is
    /// not judged.
    /// </summary>
    private static void CheckDatasetContents(
        StageSpec stage, StageKind kind, JsonObject resolved, Dictionary<string, (StageSpec Stage, int Index)> byId,
        Dictionary<string, JsonObject?> resolvedById, string path, List<SpecError> errors)
    {
        foreach (var (name, binding) in stage.Inputs)
        {
            if (kind.FindInput(name) is not { } slot)
            {
                continue;
            }

            var needs = slot.Needs;
            var because = "";
            if (kind.InputContentsByOption.FirstOrDefault(rule => rule.Input == name) is { } rule
                && resolved[rule.Option]?.ToString() is { } value
                && rule.Needs.TryGetValue(value, out var selected))
            {
                needs = selected;
                because = $" with {rule.Option} {value}";
            }

            if (needs == DatasetContent.None)
            {
                continue;
            }

            for (var index = 0; index < binding.References.Count; index++)
            {
                var reference = binding.References[index];
                if (!byId.TryGetValue(reference.StageId, out var producer)
                    || StageKindCatalog.Find(producer.Stage.Kind) is not { } producerKind
                    || producerKind.FindOutput(reference.Output) is not { } output
                    || !output.Type.Fits(ArtifactType.Dataset)
                    || ResolvedOptions(producer.Stage, producerKind, resolvedById) is not { } producerOptions
                    || output.HoldsUnder(producerOptions) is not { } holds
                    || (holds & needs) != DatasetContent.None)
                {
                    continue;
                }

                errors.Add(new SpecError(binding.IsList ? $"{path}/inputs/{name}/{index}" : $"{path}/inputs/{name}",
                    $"'{reference}' ({producerKind.Name}) holds {DatasetContents.Describe(holds)}, but input '{name}' of kind {kind.Name}{because} needs " +
                    $"{DatasetContents.Describe(needs, "or")}; {ContentsFix(reference.StageId, producerKind, output, producerOptions, needs)}"));
            }
        }
    }

    /// <summary>
    /// The fix for a dataset that lacks <paramref name="needs"/>: the producer's option that adds it ("set vqa_questions above
    /// 0 on stage 'data' (now 0)"), or, when the producer never writes it, the producers that do.
    /// </summary>
    private static string ContentsFix(string producerId, StageKind producerKind, OutputSlot output, JsonObject producerOptions, DatasetContent needs)
    {
        var settings = output.Holds
            .Where(hold => (hold.Content & needs) != DatasetContent.None && hold.When is not null)
            .Select(hold => hold.When!)
            .ToList();
        if (settings.Count > 0)
        {
            var now = string.Join(", ", settings.Select(setting => setting.Option).Distinct().Select(option => $"{option} {producerOptions[option]}"));
            return $"set {string.Join(" or ", settings)} on stage '{producerId}' (now {now}), or bind a dataset that holds them";
        }

        var producers = StageKindCatalog.All
            .SelectMany(other => other.Outputs
                .Where(candidate => candidate.Type.Fits(ArtifactType.Dataset))
                .SelectMany(candidate => candidate.Holds.Where(hold => (hold.Content & needs) != DatasetContent.None))
                .Select(hold => hold.When is null ? $"a {other.Name} output" : $"a {other.Name} output with {hold.When}"))
            .Distinct()
            .ToList();
        return $"{producerKind.Name} writes no {DatasetContents.Describe(needs, "or")}; bind {(producers.Count == 0 ? "a dataset that holds them" : string.Join(" or ", producers))}";
    }

    /// <summary>A stage's options with every default resolved, bound once per validation; null when they do not bind.</summary>
    private static JsonObject? ResolvedOptions(StageSpec stage, StageKind kind, Dictionary<string, JsonObject?> resolvedById)
    {
        if (!resolvedById.TryGetValue(stage.Id, out var resolved))
        {
            var bound = OptionsBinder.Bind(kind, stage.Config, "");
            resolved = bound.Errors.Count == 0 ? OptionsBinder.ToJson(bound.Options) : null;
            resolvedById[stage.Id] = resolved;
        }

        return resolved;
    }
}
