using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// A stage-1 model's weights in HF's <c>Blip2ForImageTextRetrieval</c> names (<see cref="Blip2Names"/>), for use outside
/// this project: the Q-Former, the query tokens, <c>ln_vision</c> as <c>vision_model.post_layernorm</c>, the projections
/// and the ITM head. HF has no names for <c>temp</c> and the ITG head (<c>Qformer.cls.*</c>), so they are not written and
/// keep their values on import; the frozen encoder is not part of the model (it is its own artifact).
/// </summary>
public static class Blip2HfWeights
{
    /// <summary>Writes <paramref name="model"/>'s weights that HF names to <paramref name="path"/> under those names.</summary>
    public static int Export(Blip2Stage1Model model, string path)
    {
        var named = BlipWeights.DistinctState(model)
            .Select(entry => (Name: Blip2Names.ToHf(entry.Name), entry.Tensor))
            .Where(entry => entry.Name is not null)
            .Select(entry => (entry.Name!, entry.Tensor))
            .ToList();
        Safetensors.Save(path, named, new Dictionary<string, string> { ["format"] = "pt" });
        return named.Count;
    }

    /// <summary>
    /// Reads HF-named weights of <paramref name="path"/> into <paramref name="model"/>; every HF-named tensor of the model
    /// must be there with its shape, and names the model lacks are refused.
    /// </summary>
    public static void Import(Blip2Stage1Model model, string path)
    {
        var source = Safetensors.Load(path);
        try
        {
            var target = model.state_dict();
            var problems = new List<string>();
            using var noGrad = no_grad();
            foreach (var (hf, value) in source)
            {
                if (Blip2Names.ToLavis(hf) is not { } lavis || !target.TryGetValue(lavis, out var tensor))
                {
                    problems.Add($"{hf} names nothing of a stage-1 model");
                }
                else if (!tensor.shape.SequenceEqual(value.shape))
                {
                    problems.Add($"{hf} [{string.Join(", ", value.shape)}] does not fit {lavis} [{string.Join(", ", tensor.shape)}]");
                }
                else
                {
                    tensor.copy_(value);
                }
            }

            problems.AddRange(target.Keys.Where(name => Blip2Names.ToHf(name) is { } hf && !source.ContainsKey(hf))
                .Select(name => $"{Blip2Names.ToHf(name)} (for {name}) is missing"));
            if (problems.Count > 0)
            {
                throw new InvalidDataException($"{path} does not hold this stage-1 model in HF's names: {string.Join("; ", problems.Take(12))}");
            }
        }
        finally
        {
            foreach (var tensor in source.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
