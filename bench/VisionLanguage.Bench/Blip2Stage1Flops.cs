using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Bench;

/// <summary>
/// The matrix-multiply FLOPs of BLIP-2 stage 1, counted from the shapes as <c>PretrainFlops</c> counts BLIP's: 2 per
/// multiply-add; embeddings, norms, softmax, losses and other element-wise work left out, as MFU figures usually do.
/// </summary>
internal static class Blip2Stage1Flops
{
    /// <summary>
    /// One training step of the Q-Former (<see cref="Blip2Stage1Model.forward"/>, then backward, counted as twice the
    /// forward) on <paramref name="batch"/> pairs of <paramref name="imageTokens"/> frozen-encoder tokens and captions
    /// padded to <paramref name="textLength"/> tokens. Per pair, with Q queries, T text tokens, S image tokens, V the
    /// encoder's width, D the Q-Former's width, F its feed-forward width, L layers, C of them cross-attending, E the ITC
    /// width and N the vocabulary:
    /// <list type="bullet">
    /// <item>every token through every layer it passes: q, k, v and output projections and its feed-forward (the
    /// queries' own or the text's, the same size), 8D² + 4DF, and its attention products, 4·D per key it attends to;</item>
    /// <item>a query pass through a cross-attention layer: the queries' q and output projections (4QD²), keys and values
    /// of every image token (4SVD) and the products (4QSD);</item>
    /// <item>the passes: the queries alone with cross-attention (ITC's image side); the caption alone (ITC's text side);
    /// three of queries and caption together with cross-attention (ITM: the positive, a negative image, a negative
    /// caption); the [DEC] caption attending to the queries' cached keys and values (ITG), then the LM head, a D × D
    /// transform and the D × N decoder on every caption position;</item>
    /// <item>ITC's projections (Q + 1 vectors of D to E) and the B × B × Q similarities both ways; the ITM head (two
    /// outputs) is left out.</item>
    /// </list>
    /// Padding positions are counted: they are computed.
    /// </summary>
    public static double QFormerStep(Blip2Stage1Config config, int batch, int imageTokens, int textLength)
    {
        var q = config.Qformer;
        double queries = q.QueryTokens, text = textLength, d = q.HiddenSize, f = q.IntermediateSize;
        double crossLayers = Enumerable.Range(0, q.Layers).Count(q.HasCrossAttention);
        var tokenLayer = 8 * d * d + 4 * d * f;
        var cross = 4 * queries * d * d + 4.0 * imageTokens * q.EncoderWidth * d + 4 * queries * imageTokens * d;

        double Pass(double tokens, double keys) => q.Layers * tokens * (tokenLayer + 4 * keys * d);

        var itcImage = Pass(queries, queries) + crossLayers * cross;
        var itcText = Pass(text, text);
        var itm = 3 * (Pass(queries + text, queries + text) + crossLayers * cross);
        var itg = Pass(text, queries + text) + text * (2 * d * d + 2 * d * q.VocabSize);
        var itcHeads = (queries + 1) * 2 * d * config.EmbedDim + 2 * 2 * batch * queries * config.EmbedDim;
        var forward = batch * (itcImage + itcText + itm + itg + itcHeads);
        return 3 * forward;
    }

    /// <summary>
    /// The frozen encoder's forward over one image, read after <paramref name="blocksUsed"/> blocks: the patch
    /// convolution, then per block the qkv and output projections and the MLP on every token (2 × the block's weights ×
    /// tokens) and the attention products (4·S²·V).
    /// </summary>
    public static double EncoderPerImage(VitConfig vision, int blocksUsed)
    {
        double tokens = vision.Tokens, patches = tokens - 1, v = vision.Width;
        var patchEmbedding = 2 * patches * 3 * vision.PatchSize * vision.PatchSize * v;
        var block = tokens * (2 * v * 3 * v + 2 * v * v + 2 * 2 * v * vision.MlpRatio * v) + 2 * 2 * tokens * tokens * v;
        return patchEmbedding + blocksUsed * block;
    }
}
