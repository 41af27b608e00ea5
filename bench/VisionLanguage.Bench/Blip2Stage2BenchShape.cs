using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Bench;

/// <summary>
/// What <c>bench blip2-stage2</c> trains for a preset: the frozen LLM's shape, stage 2's queries-only Q-Former, and the
/// frozen image encoder whose output the Q-Former reads. The encoder itself is outside the stage-2 model (its features
/// come in the batch), so only its output's shape matters: <see cref="Vision"/>'s tokens, <see cref="VitConfig.Width"/> wide.
/// </summary>
/// <param name="Preset">tiny or base.</param>
/// <param name="Opt">The frozen LLM (random weights).</param>
/// <param name="Qformer">The Q-Former, queries only, cross-attending to <see cref="Vision"/>'s tokens.</param>
/// <param name="Vision">The frozen encoder whose output the batches stand in for.</param>
internal sealed record Blip2Stage2BenchShape(string Preset, OptConfig Opt, QFormerConfig Qformer, VitConfig Vision)
{
    /// <summary>LAVIS's <c>max_txt_len</c> for BLIP-2 OPT: every caption is this long, BOS included.</summary>
    public const int TextLength = 32;

    // OPT's special tokens (<pad> 1, </s> 2, <unk> 3) and <s> 0 lie below this; caption ids are drawn from here on.
    public const long FirstWordId = 4;

    // bert-base-uncased's 30,522 tokens and [DEC], as stage 1 builds its Q-Former (unused once the text side is trimmed).
    private const int BertVocabSize = 30_523;

    /// <summary>
    /// HF facebook/opt-350m's config: 24 layers 1,024 wide, 16 heads, 4,096-wide feed-forwards, LayerNorm after each
    /// residual, 512-wide word embeddings bridged by <c>project_in</c>/<c>project_out</c>, 50,272 rows, 2,048 positions.
    /// </summary>
    public static OptConfig Opt350m { get; } = new()
    {
        VocabSize = 50_272,
        HiddenSize = 1024,
        Layers = 24,
        Heads = 16,
        FfnDim = 4096,
        MaxPositionEmbeddings = 2048,
        LayerNormBefore = false,
        WordEmbedWidth = 512,
    };

    /// <summary>
    /// llm.pretrain's tiny shape (64 wide, 2 layers, 4 heads, 256-wide feed-forwards, 1,000 tokens, 128 positions) laid
    /// out as OPT-350m is (LayerNorm after each residual, word embeddings half the width), so the same code paths run.
    /// </summary>
    public static OptConfig TinyOpt { get; } = new()
    {
        VocabSize = 1000,
        HiddenSize = 64,
        Layers = 2,
        Heads = 4,
        FfnDim = 256,
        MaxPositionEmbeddings = 128,
        LayerNormBefore = false,
        WordEmbedWidth = 32,
    };

    /// <summary>
    /// The preset's shapes: base is OPT-350m over the base Q-Former (presets.json's <c>blip2.stage1</c> base values:
    /// LAVIS's 12 × 768, 12 heads, 3,072-wide feed-forwards, 32 queries, cross-attention every 2 layers) reading ViT-L/14's
    /// 257 tokens 1,024 wide; tiny is <see cref="TinyOpt"/> over the tiny Q-Former (64 × 2, 8 queries) reading the tiny
    /// BLIP ViT's 17 tokens 64 wide.
    /// </summary>
    public static Blip2Stage2BenchShape Of(string preset)
    {
        var small = preset == "tiny";
        var vision = small ? BlipPresets.Pretrain("tiny", BertVocabSize, BlipSpecialTokens.BertBaseUncased.PadId).Vision : RandomFrozenEncoder.VitL14;
        // Stage 2 takes stage 1's Q-Former trimmed to its queries; the text side's vocabulary is not built.
        var stage1 = Blip2Stage1Preset.Config(preset, BertVocabSize, BlipSpecialTokens.BertBaseUncased.PadId, vision.Width, TextLength);
        return new Blip2Stage2BenchShape(preset, small ? TinyOpt : Opt350m, stage1.Qformer with { QueriesOnly = true }, vision);
    }

    public string Describe() =>
        $"frozen LLM: OPT {Opt.HiddenSize}x{Opt.Layers}, {Opt.Heads} heads, FFN {Opt.FfnDim}, word embeddings {Opt.WordEmbedWidth} wide, " +
        $"{Opt.VocabSize} tokens, LayerNorm {(Opt.LayerNormBefore ? "before" : "after")} (random weights, fp32); " +
        $"Q-Former {Qformer.HiddenSize}x{Qformer.Layers}, {Qformer.Heads} heads, FFN {Qformer.IntermediateSize}, {Qformer.QueryTokens} queries, " +
        $"cross-attention every {Qformer.CrossAttentionFrequency} layers, queries only; " +
        $"frozen-encoder features {Vision.Tokens} tokens x {Vision.Width} (random, the shape of ViT {Vision.Width}x{Vision.Depth} at {Vision.ImageSize}px/{Vision.PatchSize}; the encoder is not run); " +
        $"captions of {TextLength} tokens";
}
