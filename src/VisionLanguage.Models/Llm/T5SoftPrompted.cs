using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// A frozen T5 behind a soft prompt (LAVIS <c>blip2_t5.py</c>, reference §4.2): the encoder reads
/// <c>[soft prompt][prompt and prefix &lt;/s&gt;]</c>, the decoder starts from <c>decoder_start_token_id</c> and learns the
/// target (HF <c>_shift_right</c>), cross-entropy over labels that are not −100. Generation runs the encoder once per
/// image and decodes from the start token with a cached decoder.
/// </summary>
public sealed class T5SoftPrompted : ISoftPromptedLlm
{
    private readonly T5ForConditionalGeneration _model;

    /// <summary>Takes <paramref name="model"/> as it is, in its dtype; stage 2 freezes it (<see cref="LlmFreezing"/>), <c>llm.pretrain</c> trains it.</summary>
    public T5SoftPrompted(T5ForConditionalGeneration model)
    {
        _model = model;
        DType = model.Shared.dtype;
    }

    public string Architecture => "t5";

    public long Width => _model.Config.HiddenSize;

    public ScalarType DType { get; }

    public nn.Module Module => _model;

    public T5Config Config => _model.Config;

    public Tensor Loss(Tensor? softPrompt, Tensor inputIds, Tensor inputMask, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (embeds, mask) = Prefixed(softPrompt, inputIds, inputMask);
        var encoded = _model.Encode(embeds, mask);
        // Padding targets come last and are −100, so the causal mask alone keeps every real target's prediction exact.
        var logits = _model.Decode(_model.ShiftRight(labels), null, encoded, mask).to_type(ScalarType.Float32); // (B, T', vocab)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), labels.reshape(-1), ignore_index: -100).MoveToOuterDisposeScope();
    }

    public long[][] Generate(Tensor? softPrompt, Tensor promptIds, Tensor promptMask, LlmDecodingSettings settings, long endId, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rowsPerImage = SoftPromptGeneration.RowsPerImage(settings);
        var (embeds, mask) = Prefixed(softPrompt, promptIds, promptMask);
        var encoded = _model.Encode(embeds, mask);
        using var session = new Session(this, encoded.repeat_interleave(rowsPerImage, dim: 0), mask.repeat_interleave(rowsPerImage, dim: 0));
        var start = full(promptIds.shape[0], 1, _model.Config.DecoderStartTokenId, dtype: ScalarType.Int64, device: promptIds.device);
        return SoftPromptGeneration.Run(session, start, settings, endId, _model.Config.PadTokenId, generator);
    }

    public void Dispose() => _model.Dispose();

    private (Tensor Embeds, Tensor Mask) Prefixed(Tensor? softPrompt, Tensor ids, Tensor mask)
    {
        var text = _model.Embed(ids);
        if (softPrompt is null)
        {
            return (text, mask);
        }

        var queries = ones(softPrompt.shape[0], softPrompt.shape[1], dtype: mask.dtype, device: mask.device);
        return (cat([softPrompt.to_type(DType), text], 1), cat([queries, mask], 1));
    }

    /// <summary>
    /// Cached decoding over encoder states already repeated per row; rows of one image share them, so reordering rows
    /// (which stays within an image) leaves the cross-attention keys and values valid.
    /// </summary>
    private sealed class Session(T5SoftPrompted owner, Tensor encoded, Tensor encoderMask) : IDecoderSession
    {
        private readonly List<LayerKeyValues> _cache = owner._model.NewCache();

        public Tensor Next(Tensor tokens)
        {
            using var scope = NewDisposeScope();
            var logits = owner._model.Decode(tokens, null, encoded, encoderMask, _cache);    // (rows, T, vocab)
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
