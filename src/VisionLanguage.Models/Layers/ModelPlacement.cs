using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>Where a model goes at construction (TorchVision's factory style): the device given, the CPU when none.</summary>
internal static class ModelPlacement
{
    /// <summary>
    /// Moves <paramref name="model"/> to <paramref name="device"/> unless that is the CPU, where it was built. A model
    /// calls this once, after its parts exist and before its components take their tensors.
    /// </summary>
    public static void PlaceOn(nn.Module model, Device? device)
    {
        if (device is not null && device.type != DeviceType.CPU)
        {
            model.to(device);
        }
    }
}
