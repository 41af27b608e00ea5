
namespace VisionLanguage.Models.Blip;

/// <summary>
/// The matrix-multiply FLOPs of one BLIP pretraining step, counted from the shapes (2 per multiply-add; embeddings,
/// norms, softmax and element-wise work left out, as MFU figures usually do). A backward pass is counted as twice its
/// forward; the momentum encoders run forward only.
/// </summary>
public static class PretrainFlops
{
    public static double PerStep(BlipModelConfig config, int batch, int textLength)
    {
        var vision = config.Vision;
        var text = config.Text;
        double tokens = vision.Tokens;
        double patches = tokens - 1;
        double dv = vision.Width;
        double dt = text.HiddenSize;
        double ffn = text.IntermediateSize;
        double length = textLength;

        // ViT, per image: patch convolution, then per block qkv, q·kᵀ, attention·v, projection and the MLP.
        var vit = 2 * patches * 3 * vision.PatchSize * vision.PatchSize * dv
            + vision.Depth * (tokens * (2 * dv * 3 * dv + 2 * dv * dv + 2 * 2 * dv * vision.MlpRatio * dv) + 2 * 2 * tokens * tokens * dv);

        // MED, per sequence: self-attention and FFN in every layer; cross-attention into the image tokens when grounded.
        var selfLayer = length * (2 * dt * 3 * dt + 2 * dt * dt + 2 * 2 * dt * ffn) + 2 * 2 * length * length * dt;
        var crossLayer = length * (2 * dt * dt + 2 * dt * dt) + 2 * 2 * tokens * dv * dt + 2 * 2 * length * tokens * dt;
        var unimodal = text.Layers * selfLayer;
        var grounded = text.Layers * (selfLayer + crossLayer);
        var lmHead = length * (2 * dt * dt + 2 * dt * text.VocabSize);

        // ITC: projections and similarities against batch + queue, online and momentum.
        var itc = batch * (2 * dv * config.EmbedDim + 2 * dt * config.EmbedDim) + 2 * 2 * batch * (batch + config.QueueSize) * config.EmbedDim;

        var trained = batch * vit            // visual_encoder
            + batch * unimodal               // text_encoder, ITC
            + 3 * batch * grounded           // text_encoder with [ENC]: positives, then negative images and negative texts
            + batch * (grounded + lmHead)    // text_decoder
            + itc;
        var momentumForward = batch * vit + batch * unimodal + itc / 2;
        return 3 * trained + momentumForward;
    }
}
