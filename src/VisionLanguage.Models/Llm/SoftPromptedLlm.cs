using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// What the two soft-prompted LLMs share: the model held as it is, in its dtype (stage 2 freezes it with
/// <see cref="LlmFreezing"/>, <c>llm.pretrain</c> trains it), and the soft prompt put in front of the text's embeddings
/// with the attention mask 1 on it.
/// </summary>
/// <typeparam name="TModel">The HF-named model: <see cref="OptForCausalLM"/> or <see cref="T5ForConditionalGeneration"/>.</typeparam>
public abstract class SoftPromptedLlm<TModel>(TModel model, ScalarType dtype) : ISoftPromptedLlm
    where TModel : nn.Module
{
    protected TModel Model { get; } = model;

    public abstract string Architecture { get; }

    public abstract long Width { get; }

    public ScalarType DType { get; } = dtype;

    public nn.Module Module => Model;

    public abstract Tensor Loss(Tensor? softPrompt, Tensor inputIds, Tensor inputMask, Tensor labels);

    public abstract long[][] Generate(Tensor? softPrompt, Tensor promptIds, Tensor promptMask, LlmDecodingSettings settings, long endId, Generator? generator = null);

    public void Dispose()
    {
        Model.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The word embeddings of <paramref name="ids"/> (B, T) in the model's input width.</summary>
    protected abstract Tensor Embed(Tensor ids);

    /// <summary>The soft prompt (cast to the model's dtype) before the text's embeddings, and the mask over both.</summary>
    protected (Tensor Embeds, Tensor Mask) Prefixed(Tensor? softPrompt, Tensor ids, Tensor mask)
    {
        var text = Embed(ids);
        if (softPrompt is null)
        {
            return (text, mask);
        }

        var queries = ones(softPrompt.shape[0], softPrompt.shape[1], dtype: mask.dtype, device: mask.device);
        return (cat([softPrompt.to_type(DType), text], 1), cat([queries, mask], 1));
    }

    /// <summary>The mean cross-entropy of <paramref name="logits"/> (B, T, vocab), in float32, over the labels (B, T) that are not −100.</summary>
    protected static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to_type(ScalarType.Float32);
        return nn.functional.cross_entropy(scores.reshape(-1, scores.shape[2]), labels.reshape(-1), ignore_index: -100).MoveToOuterDisposeScope();
    }
}
