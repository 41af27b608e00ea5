using System.Reflection;
using System.Text.Json.Nodes;

namespace Orchestrator.Contracts.Catalog.Presets;

/// <summary>
/// The presets every training kind offers, read from <c>presets.json</c> (embedded here, and in the vision-language
/// models, whose factories read the same data). A preset has two parts:
/// <list type="bullet">
/// <item>a <b>shape</b> (image and text sizes, widths, depths, heads): applied to the options a kind has, so a kind that
/// builds its model from scratch gets all of it and a finetune only its data sizes (image_size, max_text_length);</item>
/// <item>a <b>training</b> preset per kind (learning rate, queue size, momentum and the like).</item>
/// </list>
/// The tiny training presets depart from the paper on purpose: tiny trains from scratch in a few hundred steps, where
/// the paper's values hold ITC at chance (soft targets from a still-random momentum model, and a long queue of stale
/// features, drown the signal). Without distillation, with a short queue, momentum 0.99 and lr 1e-3, 512 steps on the
/// synthetic data reach recall@1 ≈ 8 % on 128 test images (chance 0.8 %). Base and large keep BLIP's queue of 57,600.
/// </summary>
public static class OptionPresets
{
    private static readonly JsonObject Document = Load();

    /// <summary>The preset names, in their file order: tiny, base, large.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Shapes().Select(shape => shape.Key)];

    /// <summary>The options a shape preset sets: the model's shape and the data sizes it was built for.</summary>
    public static IReadOnlySet<string> ShapeKeys { get; } =
        Shapes().SelectMany(shape => shape.Value!.AsObject().Select(value => value.Key)).ToHashSet();

    /// <summary>
    /// The presets of kind <paramref name="kindName"/> with options <paramref name="optionsType"/>: for each name, the shape
    /// values of the options the kind has, then the kind's training values.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonObject> For(string kindName, Type optionsType)
    {
        var options = OptionsBinder.OptionProperties(optionsType).Select(OptionsBinder.OptionName).ToHashSet();
        var training = Document["training"]![kindName]?.AsObject();
        return Names.ToDictionary(
            name => name,
            name =>
            {
                var values = new JsonObject();
                foreach (var (key, value) in Shapes()[name]!.AsObject().Where(entry => options.Contains(entry.Key)))
                {
                    values[key] = value!.DeepClone();
                }

                if (training?[name] is JsonObject trainingValues)
                {
                    foreach (var (key, value) in trainingValues)
                    {
                        values[key] = value!.DeepClone();
                    }
                }

                return values;
            });
    }

    private static JsonObject Shapes() => Document["shapes"]!.AsObject();

    private static JsonObject Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Orchestrator.Contracts.presets.json")
            ?? throw new InvalidOperationException("presets.json is not embedded in Orchestrator.Contracts");
        return JsonNode.Parse(stream)!.AsObject();
    }
}
