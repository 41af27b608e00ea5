using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// A frozen T5 behind a soft prompt (LAVIS <c>blip2_t5.py</c>, reference §4.2): the encoder reads
/// <c>[soft prompt][prompt and prefix &lt;/s&gt;]</c>, the decoder starts from <c>decoder_start_token_id</c> and learns the
/// target (HF <c>_shift_right</c>), cross-entropy over labels that are not −100. Generation runs the encoder once per
/// image and decodes from the start token with a cached decoder.
/// </summary>
public sealed class T5SoftPrompted(T5ForConditionalGeneration model) : SoftPromptedLlm<T5ForConditionalGeneration>(model, model.Shared.dtype)
{
    public override string Architecture => "t5";

    public override long Width => Model.Config.HiddenSize;

    public T5Config Config => Model.Config;

    public override Tensor Loss(Tensor? softPrompt, Tensor inputIds, Tensor inputMask, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (embeds, mask) = Prefixed(softPrompt, inputIds, inputMask);
        var encoded = Model.Encode(embeds, mask);
        // Padding targets come last and are −100, so the causal mask alone keeps every real target's prediction exact.
        var logits = Model.Decode(Model.ShiftRight(labels), null, encoded, mask);                        // (B, T', vocab)
        return CrossEntropy(logits, labels).MoveToOuterDisposeScope();
    }

    public override long[][] Generate(Tensor? softPrompt, Tensor promptIds, Tensor promptMask, LlmDecodingSettings settings, long endId, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rowsPerImage = SoftPromptGeneration.RowsPerImage(settings);
        var (embeds, mask) = Prefixed(softPrompt, promptIds, promptMask);
        var encoded = Model.Encode(embeds, mask);
        using var session = new Session(this, encoded.repeat_interleave(rowsPerImage, dim: 0), mask.repeat_interleave(rowsPerImage, dim: 0));
        var start = full(promptIds.shape[0], 1, Model.Config.DecoderStartTokenId, dtype: ScalarType.Int64, device: promptIds.device);
        return SoftPromptGeneration.Run(session, start, settings, endId, Model.Config.PadTokenId, generator);
    }

    protected override Tensor Embed(Tensor ids) => Model.Embed(ids);

    /// <summary>
    /// Cached decoding over encoder states already repeated per row; rows of one image share them, so reordering rows
    /// (which stays within an image) leaves the cross-attention keys and values valid.
    /// </summary>
    private sealed class Session(T5SoftPrompted owner, Tensor encoded, Tensor encoderMask) : IDecoderSession
    {
        private readonly List<LayerKeyValues> _cache = owner.Model.NewCache();

        public Tensor Next(Tensor tokens)
        {
            using var scope = NewDisposeScope();
            var logits = owner.Model.Decode(tokens, null, encoded, encoderMask, _cache);    // (rows, T, vocab)
            return logits.select(1, -1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        }

        public void Reorder(Tensor rows)
        {
            foreach (var layer in _cache)
            {
                layer.Reorder(rows);
            }
        }

        public void Dispose()
        {
            foreach (var layer in _cache)
            {
                layer.Dispose();
            }
        }
    }
}
