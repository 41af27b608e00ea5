using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// A frozen OPT behind a soft prompt (LAVIS <c>blip2_opt.py</c>, reference §4.1): the sequence is
/// <c>[soft prompt][BOS &lt;/s&gt;][prompt and text]["\n"][pad…]</c>, with the attention mask 1 on the soft prompt.
/// Positions come from the mask, so generation's left-padded prompts place every real token as training's
/// right-padded ones did.
/// </summary>
public sealed class OptSoftPrompted(OptForCausalLM model) : SoftPromptedLlm<OptForCausalLM>(model, model.EmbedTokens.dtype)
{
    public override string Architecture => "opt";

    public override long Width => Model.Config.WordEmbedWidth;

    public OptConfig Config => Model.Config;

    public override Tensor Loss(Tensor? softPrompt, Tensor inputIds, Tensor inputMask, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (embeds, mask) = Prefixed(softPrompt, inputIds, inputMask);
        var prefix = embeds.shape[1] - inputIds.shape[1];
        var length = inputIds.shape[1];
        // The soft prompt's labels are all −100 and the last query's prediction is of BOS (−100 too), so the text's
        // own logits carry every counted term of HF's shifted loss over the whole sequence.
        var logits = Model.Forward(embeds, mask).narrow(1, prefix, length - 1);                             // (B, T − 1, vocab)
        return CrossEntropy(logits, labels.narrow(1, 1, length - 1)).MoveToOuterDisposeScope();
    }

    public override long[][] Generate(Tensor? softPrompt, Tensor promptIds, Tensor promptMask, LlmDecodingSettings settings, long endId, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rowsPerImage = SoftPromptGeneration.RowsPerImage(settings);
        using var session = new Session(this, softPrompt, promptMask, rowsPerImage);
        return SoftPromptGeneration.Run(session, promptIds, settings, endId, Model.Config.PadTokenId, generator);
    }

    protected override Tensor Embed(Tensor ids) => Model.Embed(ids);

    /// <summary>Cached decoding: the soft prompt and the prompt on the first step, one token per row after.</summary>
    private sealed class Session(OptSoftPrompted owner, Tensor? softPrompt, Tensor promptMask, long rowsPerImage) : IDecoderSession
    {
        private readonly List<LayerKeyValues> _cache = owner.Model.NewCache();
        private Tensor? _mask;

        public Tensor Next(Tensor tokens)
        {
            using var scope = NewDisposeScope();
            Tensor embeds, mask;
            if (_mask is null)
            {
                var soft = softPrompt?.repeat_interleave(rowsPerImage, dim: 0);
                (embeds, mask) = owner.Prefixed(soft, tokens, promptMask.repeat_interleave(rowsPerImage, dim: 0));
            }
            else
            {
                embeds = owner.Model.Embed(tokens);
                mask = cat([_mask, ones(tokens.shape[0], tokens.shape[1], dtype: _mask.dtype, device: _mask.device)], 1);
            }

            Replace(mask);
            var logits = owner.Model.Forward(embeds, _mask!, _cache);                  // (rows, T, vocab)
            return logits.select(1, -1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        }

        public void Reorder(Tensor rows)
        {
            foreach (var layer in _cache)
            {
                layer.Reorder(rows);
            }

            Replace(_mask!.index_select(0, rows));
        }

        public void Dispose()
        {
            foreach (var layer in _cache)
            {
                layer.Dispose();
            }

            _mask?.Dispose();
        }

        private void Replace(Tensor mask)
        {
            var old = _mask;
            _mask = mask.DetachFromDisposeScope();
            if (!ReferenceEquals(old, _mask))
            {
                old?.Dispose();
            }
        }
    }
}
