using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>Where a tensor is, compared by device type and index (a <see cref="Device"/> is a fresh object per query).</summary>
public static class TensorPlacement
{
    /// <summary>Whether <paramref name="tensor"/> is on <paramref name="device"/>; a device without an index (<c>cuda</c>) matches any of its type.</summary>
    public static bool IsOn(Tensor tensor, Device device) =>
        tensor.device_type == device.type && (device.type == DeviceType.CPU || device.index < 0 || tensor.device_index == device.index);

    /// <summary>
    /// <paramref name="tensor"/> itself when it is on <paramref name="device"/>, else its copy there (owned by the current
    /// dispose scope): how a model takes inputs built on the CPU (tokenizer ids, loaded images) without touching them on the CPU.
    /// </summary>
    public static Tensor On(Tensor tensor, Device device) => IsOn(tensor, device) ? tensor : tensor.to(device);
}
