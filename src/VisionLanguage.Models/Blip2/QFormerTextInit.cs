using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// LAVIS <c>init_Qformer</c> from a BERT (<c>BertLMHeadModel.from_pretrained("bert-base-uncased")</c>, reference §1.1) and
/// stage 1's copy of the text feed-forwards into the queries' (<c>blip2_qformer.py</c>: every <c>_query</c> parameter
/// starts as its text twin): the Q-Former's word and position embeddings, their LayerNorm, every layer's self-attention
/// and feed-forward, and the masked-LM head's transform and bias come from the text encoder; the cross-attention (BERT has
/// none), the query tokens and the projections keep their fresh initialisation. Rows of words the Q-Former's vocabulary
/// adds after the encoder's (<c>[DEC]</c>) keep theirs too, as <c>resize_token_embeddings</c> leaves them.
/// </summary>
public static class QFormerTextInit
{
    /// <summary>
    /// Copies <paramref name="bert"/> (tensors under HF <c>BertModel</c> names: <c>embeddings.*</c>, <c>encoder.layer.N.*</c>,
    /// and, when present, <c>cls.predictions.*</c>) into <paramref name="model"/>'s Q-Former. The encoder's shape must
    /// be the Q-Former's; its vocabulary may be shorter (the first rows are copied). Returns the Q-Former names written.
    /// </summary>
    public static IReadOnlyList<string> Apply(Blip2Stage1Model model, IReadOnlyDictionary<string, Tensor> bert, string source)
    {
        var target = model.state_dict();
        var written = new List<string>();
        var problems = new List<string>();
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target)
        {
            if (SourceName(name) is not { } from || !bert.TryGetValue(from, out var value))
            {
                continue;
            }

            if (Copy(tensor, value))
            {
                written.Add(name);
            }
            else
            {
                problems.Add($"{from} [{string.Join(", ", value.shape)}] does not fit {name} [{string.Join(", ", tensor.shape)}]");
            }
        }

        var missing = target.Keys.Where(name => SourceName(name) is { } from && !from.StartsWith("cls.", StringComparison.Ordinal) && !bert.ContainsKey(from))
            .Select(name => SourceName(name)!).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"{missing.Count} tensors of a BERT encoder are missing, e.g. {string.Join(", ", missing.Take(3))}");
        }

        return problems.Count == 0
            ? written
            : throw new InvalidDataException($"{source} cannot initialise this Q-Former: {string.Join("; ", problems.Take(8))}");
    }

    /// <summary>The BERT tensor a Q-Former parameter starts from; null for those it does not (cross-attention, queries' tokens, heads).</summary>
    public static string? SourceName(string qformerName)
    {
        const string bert = "Qformer.bert.";
        if (qformerName.StartsWith("Qformer.cls.predictions.", StringComparison.Ordinal))
        {
            // The decoder's weight is the word embeddings (tied), copied with them.
            return qformerName.EndsWith(".decoder.weight", StringComparison.Ordinal) ? null : qformerName["Qformer.".Length..];
        }

        if (!qformerName.StartsWith(bert, StringComparison.Ordinal) || qformerName.Contains(".crossattention.", StringComparison.Ordinal)
            || qformerName.EndsWith(".position_ids", StringComparison.Ordinal))
        {
            return null;
        }

        return qformerName[bert.Length..].Replace(".intermediate_query.", ".intermediate.", StringComparison.Ordinal)
            .Replace(".output_query.", ".output.", StringComparison.Ordinal);
    }

    /// <summary>Copies <paramref name="value"/> into <paramref name="tensor"/>, or into its leading rows when only the vocabulary (first dimension) is longer.</summary>
    private static bool Copy(Tensor tensor, Tensor value)
    {
        if (value.shape.SequenceEqual(tensor.shape))
        {
            tensor.copy_(value);
            return true;
        }

        if (value.dim() == tensor.dim() && value.shape[0] < tensor.shape[0] && value.shape.Skip(1).SequenceEqual(tensor.shape.Skip(1)))
        {
            using var rows = tensor.narrow(0, 0, value.shape[0]);
            rows.copy_(value);
            return true;
        }

        return false;
    }

    /// <summary>Reads <paramref name="weightsPath"/> and keeps the tensors under <paramref name="prefixes"/>, renamed by their replacement (BLIP's <c>text_encoder.</c> to BERT's names).</summary>
    public static Dictionary<string, Tensor> ReadRenamed(string weightsPath, IReadOnlyList<(string Prefix, string Replacement)> prefixes)
    {
        var all = Safetensors.Load(weightsPath);
        var kept = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in all)
        {
            var match = prefixes.FirstOrDefault(prefix => name.StartsWith(prefix.Prefix, StringComparison.Ordinal));
            if (match.Prefix is null)
            {
                tensor.Dispose();
                continue;
            }

            kept[match.Replacement + name[match.Prefix.Length..]] = tensor;
        }

        return kept;
    }
}
