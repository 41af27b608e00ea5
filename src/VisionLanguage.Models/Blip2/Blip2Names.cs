namespace VisionLanguage.Models.Blip2;

/// <summary>
/// Stage 1's checkpoint names in LAVIS's naming (this project's) and in HuggingFace's <c>Blip2ForImageTextRetrieval</c>,
/// after transformers' <c>convert_blip_2_original_to_pytorch.py</c> (reference §6.4): <c>ln_vision</c> is
/// <c>vision_model.post_layernorm</c>, the embeddings' LayerNorm is <c>qformer.layernorm</c>, the word and position
/// embeddings move to the top-level <c>embeddings</c>, <c>attention.self</c> becomes <c>attention.attention</c>, the
/// projections are spelled out. <c>temp</c> and the LM head (<c>Qformer.cls.*</c>) have no HF name.
/// </summary>
public static class Blip2Names
{
    private static readonly (string Lavis, string Hf)[] Prefixes =
    [
        ("ln_vision.", "vision_model.post_layernorm."),
        ("Qformer.bert.embeddings.LayerNorm.", "qformer.layernorm."),
        ("Qformer.bert.embeddings.word_embeddings.", "embeddings.word_embeddings."),
        ("Qformer.bert.embeddings.position_embeddings.", "embeddings.position_embeddings."),
        ("Qformer.bert.embeddings.position_ids", "embeddings.position_ids"),
        ("Qformer.bert.encoder.", "qformer.encoder."),
        ("vision_proj.", "vision_projection."),
        ("text_proj.", "text_projection."),
        ("itm_head.", "itm_head."),
        ("query_tokens", "query_tokens"),
    ];

    /// <summary>The HF name of LAVIS name <paramref name="lavis"/>, or null when HF has none (<c>temp</c>, <c>Qformer.cls.*</c>).</summary>
    public static string? ToHf(string lavis)
    {
        foreach (var (from, to) in Prefixes)
        {
            if (lavis.StartsWith(from, StringComparison.Ordinal))
            {
                var rest = lavis[from.Length..];
                return to + (from == "Qformer.bert.encoder." ? rest.Replace(".attention.self.", ".attention.attention.", StringComparison.Ordinal).Replace(".crossattention.self.", ".crossattention.attention.", StringComparison.Ordinal) : rest);
            }
        }

        return null;
    }

    /// <summary>The LAVIS name of HF name <paramref name="hf"/>, or null when LAVIS's stage 1 has none.</summary>
    public static string? ToLavis(string hf)
    {
        foreach (var (from, to) in Prefixes)
        {
            if (hf.StartsWith(to, StringComparison.Ordinal))
            {
                var rest = hf[to.Length..];
                return from + (from == "Qformer.bert.encoder." ? rest.Replace(".attention.attention.", ".attention.self.", StringComparison.Ordinal).Replace(".crossattention.attention.", ".crossattention.self.", StringComparison.Ordinal) : rest);
            }
        }

        return null;
    }
}
