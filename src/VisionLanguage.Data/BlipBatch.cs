using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>
/// One batch of image-caption pairs as the BLIP model takes it. Owns its tensors: dispose it (or move the tensors
/// out) when the step is done. The tensors are on the CPU; the trainer moves them to its device.
/// </summary>
public sealed class BlipBatch : IDisposable
{
    public BlipBatch(torch.Tensor images, torch.Tensor textIds, torch.Tensor textMask, long[] imageIds, string[] captions)
    {
        Images = images;
        TextIds = textIds;
        TextMask = textMask;
        ImageIds = imageIds;
        Captions = captions;
    }

    /// <summary>float32 [B, 3, H, W], normalised with <see cref="ImageTransform.Mean"/> and <see cref="ImageTransform.Std"/>.</summary>
    public torch.Tensor Images { get; }

    /// <summary>int64 [B, L], L = max_text_length: <c>[CLS]</c>, word pieces, <c>[SEP]</c>, then the pad id.</summary>
    public torch.Tensor TextIds { get; }

    /// <summary>int64 [B, L]: 1 for real tokens (including <c>[CLS]</c> and <c>[SEP]</c>), 0 for padding.</summary>
    public torch.Tensor TextMask { get; }

    /// <summary>Each sample's image id in its dataset: equal ids are captions of the same image (ITC positives).</summary>
    public long[] ImageIds { get; }

    /// <summary>Each sample's caption, as read.</summary>
    public string[] Captions { get; }

    /// <summary>B, the number of samples.</summary>
    public int Size => Captions.Length;

    public void Dispose()
    {
        Images.Dispose();
        TextIds.Dispose();
        TextMask.Dispose();
    }
}
