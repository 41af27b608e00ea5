using static TorchSharp.torch;

namespace VisionLanguage.Models;

/// <summary>
/// A batch that can be placed on the device its model computes on (LAVIS <c>prepare_sample</c>): loaders build batches on
/// the CPU, the training loop moves each to the model's device before the forward.
/// </summary>
public interface IDeviceBatch<out TBatch>
{
    /// <summary>The same batch on <paramref name="device"/>, with tensors of its own; this batch itself when it is already there.</summary>
    TBatch To(Device device);
}
