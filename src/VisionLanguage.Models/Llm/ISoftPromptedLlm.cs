using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// A frozen language model that reads a soft prompt (BLIP-2 stage 2's projected query outputs) in front of its text:
/// the loss of a batch of texts and generation, for a decoder-only (OPT) or an encoder-decoder (T5) model. In stage 2
/// its weights never train (<see cref="LlmFreezing"/>: no parameter requires a gradient, but gradients flow through the
/// model to the soft prompt); <c>llm.pretrain</c> trains it on text alone, with no soft prompt.
/// </summary>
public interface ISoftPromptedLlm : IDisposable
{
    /// <summary><c>opt</c> or <c>t5</c>, as <c>model.import</c>'s architecture names it.</summary>
    string Architecture { get; }

    /// <summary>The input-embedding width a soft prompt must have.</summary>
    long Width { get; }

    /// <summary>The weights' dtype; soft prompts are cast to it, logits back to float32.</summary>
    ScalarType DType { get; }

    /// <summary>The frozen module itself (for placement and checks); it is not part of any trainable model's state.</summary>
    nn.Module Module { get; }

    /// <summary>
    /// The mean cross-entropy over every label that is not −100. Decoder-only: <paramref name="inputIds"/> (B, T) follow
    /// the soft prompt, and <paramref name="labels"/> (B, T) are aligned with them (each token predicted from the ones
    /// before). Encoder-decoder: <paramref name="inputIds"/> go to the encoder after the soft prompt, and
    /// <paramref name="labels"/> (B, T') are the decoder's targets, its inputs being them shifted right.
    /// </summary>
    /// <param name="softPrompt">(B, Q, <see cref="Width"/>), or null for text alone.</param>
    /// <param name="inputIds">Token ids (B, T).</param>
    /// <param name="inputMask">1 on tokens, 0 on padding (B, T).</param>
    /// <param name="labels">Targets, −100 where nothing is learned.</param>
    Tensor Loss(Tensor? softPrompt, Tensor inputIds, Tensor inputMask, Tensor labels);

    /// <summary>
    /// The new tokens of each image, its end token left out: after the soft prompt of the image (images, Q, Width) or
    /// none, and its text prompt (<paramref name="promptIds"/>, images × P, padded on the left with
    /// <paramref name="promptMask"/> 0 there).
    /// </summary>
    long[][] Generate(Tensor? softPrompt, Tensor promptIds, Tensor promptMask, LlmDecodingSettings settings, long endId, Generator? generator = null);
}
