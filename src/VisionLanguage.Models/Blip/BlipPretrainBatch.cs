using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// One (micro-)batch of image-caption pairs as the pretraining model consumes it. Whoever holds a batch owns its
/// tensors; <see cref="Dispose"/> frees them.
/// </summary>
/// <param name="Images">Normalised images, float32 (B, 3, H, W).</param>
/// <param name="TextIds">Caption token ids, int64 (B, L): [CLS] … [SEP], then [PAD].</param>
/// <param name="TextMask">Attention mask, int64 (B, L): 1 on tokens, 0 on padding.</param>
/// <param name="ImageIds">An id per pair; pairs with the same image share it, so ITM never takes one as the other's negative.</param>
public sealed record BlipPretrainBatch(Tensor Images, Tensor TextIds, Tensor TextMask, long[] ImageIds) : IDisposable, IDeviceBatch<BlipPretrainBatch>
{
    public int Size => (int)Images.shape[0];

    /// <summary>Throws when the tensors' shapes disagree, naming each.</summary>
    public void Validate()
    {
        var size = Images.shape[0];
        if (Images.dim() != 4 || Images.shape[1] != 3)
        {
            throw new ArgumentException($"Images must be (batch, 3, H, W); got ({string.Join(", ", Images.shape)})");
        }

        if (TextIds.dim() != 2 || TextIds.shape[0] != size || TextIds.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"TextIds must be int64 ({size}, L); got {TextIds.dtype} ({string.Join(", ", TextIds.shape)})");
        }

        if (!TextMask.shape.SequenceEqual(TextIds.shape))
        {
            throw new ArgumentException($"TextMask ({string.Join(", ", TextMask.shape)}) must have TextIds' shape ({string.Join(", ", TextIds.shape)})");
        }

        if (ImageIds.Length != size)
        {
            throw new ArgumentException($"ImageIds has {ImageIds.Length} ids for a batch of {size}; give one per pair");
        }
    }

    /// <summary>The same batch on <paramref name="device"/>; this one when it is already there.</summary>
    public BlipPretrainBatch To(Device device) =>
        TensorPlacement.IsOn(Images, device) && TensorPlacement.IsOn(TextIds, device) && TensorPlacement.IsOn(TextMask, device)
            ? this
             : new BlipPretrainBatch(Images.to(device), TextIds.to(device), TextMask.to(device), ImageIds);

    public void Dispose()
    {
        Images.Dispose();
        TextIds.Dispose();
        TextMask.Dispose();
    }
}
