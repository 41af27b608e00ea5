using VisionLanguage.Models.Vit;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Weights;

/// <summary>What loading weights did: names the file lacked, names the model lacks, and tensors adapted on the way.</summary>
public sealed record WeightsLoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Adapted);

/// <summary>
/// A BLIP model's weights as safetensors, under the model's state-dict names (LAVIS names): every parameter, including
/// the momentum copies, and every persistent buffer, including the ITC queues and their pointer. A tensor shared under
/// several names (the decoder's embeddings, cross-attention and FFN are the encoder's) is stored once, under its first
/// name, as HuggingFace does; loading fills every name of it.
/// </summary>
public static class BlipWeights
{
    /// <summary>The state-dict entries, each distinct tensor once, in state-dict order.</summary>
    public static IEnumerable<(string Name, Tensor Tensor)> DistinctState(nn.Module model)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (name, tensor) in model.state_dict())
        {
            if (seen.Add(tensor))
            {
                yield return (name, tensor);
            }
        }
    }

    public static void Save(nn.Module model, string path) =>
        Safetensors.Save(path, DistinctState(model), new Dictionary<string, string> { ["format"] = "pt" });

    /// <summary>
    /// Copies the tensors of <paramref name="path"/> into <paramref name="model"/>. ViT position embeddings of another
    /// image size are resized (LAVIS <c>interpolate_pos_embed</c>). Strict loading (exact resume) requires every
    /// name and shape to match; otherwise (starting from another model's checkpoint) unknown names are ignored, tensors
    /// the file lacks keep their values, and ITC queues of another length are left as they are, with the pointer at 0.
    /// </summary>
    /// <param name="model">Any BLIP model (pretraining, captioning, retrieval).</param>
    /// <param name="visionGridSize">Patches per side of the model's ViT, to resize position embeddings to.</param>
    /// <param name="path">The safetensors file.</param>
    /// <param name="loading">How strictly the file must fit.</param>
    /// <param name="aliases">
    /// Only when starting from another model's weights (<see cref="WeightsLoading.Lenient"/>): for a name of the model the
    /// file lacks, the file's names to take it from, in order (the first whose shape fits is taken, and the report says
    /// so; one whose shape does not fit is passed over, as LAVIS drops shape-mismatched keys). A VQA answer decoder takes
    /// the pretrained encoder's cross-attention this way, an NLVR2 layer's two cross-attentions the pretrained one.
    /// </param>
    public static WeightsLoadReport Load(nn.Module model, int visionGridSize, string path, WeightsLoading loading, Func<string, IEnumerable<string>>? aliases = null)
    {
        var source = Safetensors.Load(path);
        try
        {
            return Load(model, visionGridSize, source, loading, path, loading == WeightsLoading.Lenient ? aliases : null);
        }
        finally
        {
            foreach (var tensor in source.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> holds one row per vocabulary token (the word embeddings, which the LM head's output
    /// weights are, and the head's bias): a finetune whose data brings new words has more rows than its init checkpoint.
    /// </summary>
    public static bool IsVocabularyRows(string name) =>
        name.EndsWith(".word_embeddings.weight", StringComparison.Ordinal) || name.EndsWith(".cls.predictions.bias", StringComparison.Ordinal) ||
        name.EndsWith(".cls.predictions.decoder.weight", StringComparison.Ordinal) || name.EndsWith(".cls.predictions.decoder.bias", StringComparison.Ordinal);

    /// <summary>
    /// Whether a checkpoint tensor of <paramref name="from"/>'s shape fills the leading rows of a vocabulary tensor of
    /// <paramref name="to"/>'s: fewer rows, every other dimension the same.
    /// </summary>
    private static bool GrowsInto(long[] from, long[] to) =>
        from.Length == to.Length && from.Length > 0 && from[0] < to[0] && from.AsSpan(1).SequenceEqual(to.AsSpan(1));

    private static WeightsLoadReport Load(
        nn.Module model, int gridSize, Dictionary<string, Tensor> source, WeightsLoading loading, string path, Func<string, IEnumerable<string>>? aliases)
    {
        var strict = loading != WeightsLoading.Lenient;
        var target = model.state_dict();
        var loaded = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var missing = new List<string>();
        var adapted = new List<string>();
        var problems = new List<string>();
        var queueSkipped = false;
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target)
        {
            if (!source.TryGetValue(name, out var value) && aliases is not null && !loaded.Contains(tensor))
            {
                foreach (var alias in aliases(name))
                {
                    if (!source.TryGetValue(alias, out var candidate))
                    {
                        continue;
                    }

                    if (candidate.shape.SequenceEqual(tensor.shape) || (IsVocabularyRows(name) && GrowsInto(candidate.shape, tensor.shape)))
                    {
                        value = candidate;
                        adapted.Add($"{name}: from {alias}");
                        break;
                    }

                    adapted.Add($"{name}: {alias} is [{string.Join(", ", candidate.shape)}], not [{string.Join(", ", tensor.shape)}]; kept fresh");
                }
            }

            if (value is null)
            {
                if (!loaded.Contains(tensor))
                {
                    missing.Add(name);
                }

                continue;
            }

            using var scope = NewDisposeScope();
            if (!value.shape.SequenceEqual(tensor.shape) && name.EndsWith(".pos_embed", StringComparison.Ordinal))
            {
                value = PositionEmbeddingResize.Resize(value, gridSize);
                adapted.Add($"{name}: position embeddings resized to a {gridSize}x{gridSize} grid");
            }
            else if (!value.shape.SequenceEqual(tensor.shape) && name.EndsWith(".embeddings.position_embedding.weight", StringComparison.Ordinal) && value.dim() == 2)
            {
                // CLIP's position embeddings are an embedding table (1 + grid², width), not a (1, 1 + grid², width) parameter.
                value = PositionEmbeddingResize.Resize(value.unsqueeze(0), gridSize).squeeze(0);
                adapted.Add($"{name}: position embeddings resized to a {gridSize}x{gridSize} grid");
            }

            if (!strict && IsVocabularyRows(name) && GrowsInto(value.shape, tensor.shape))
            {
                // New words of the finetune's data: the checkpoint's rows first, the new rows keep their fresh values.
                tensor.narrow(0, 0, value.shape[0]).copy_(value);
                loaded.Add(tensor);
                adapted.Add($"{name}: the checkpoint's {value.shape[0]} vocabulary rows of {tensor.shape[0]}; the new rows kept fresh");
                continue;
            }

            if (!value.shape.SequenceEqual(tensor.shape))
            {
                if (!strict && name is "image_queue" or "text_queue")
                {
                    queueSkipped = true;
                    adapted.Add($"{name}: the checkpoint's queue [{string.Join(", ", value.shape)}] does not fit [{string.Join(", ", tensor.shape)}]; kept the fresh queue");
                    continue;
                }

                problems.Add($"{name}: checkpoint [{string.Join(", ", value.shape)}], model [{string.Join(", ", tensor.shape)}]");
                continue;
            }

            tensor.copy_(value);
            loaded.Add(tensor);
        }

        if (queueSkipped && target.TryGetValue("queue_ptr", out var pointer))
        {
            pointer.zero_();
        }

        var unexpected = source.Keys.Where(name => !target.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
        if (loading == WeightsLoading.Strict)
        {
            problems.AddRange(unexpected.Take(5).Select(name => $"{name}: in the checkpoint but not in the model"));
            if (unexpected.Count > 5)
            {
                problems.Add($"and {unexpected.Count - 5} more names in the checkpoint but not in the model");
            }
        }

        if (strict)
        {
            if (missing.Count > 0)
            {
                problems.Add($"{missing.Count} names of the model not in the checkpoint, e.g. {string.Join(", ", missing.Take(3))}");
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidDataException(
                $"{path} does not fit this model (is it from another preset or vocabulary?): {string.Join("; ", problems.Take(12))}" +
                (problems.Count > 12 ? $"; and {problems.Count - 12} more" : ""));
        }

        return new WeightsLoadReport(missing, unexpected, adapted);
    }
}
