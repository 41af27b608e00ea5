using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>
/// The one rule for the dtype of frozen parts (BLIP-2's image encoder, stage 2's LLM), as the reference runs them
/// (LAVIS: frozen ViT and LLM in half precision, FlanT5 in bfloat16; reference §3.3): bfloat16 on CUDA, where it halves
/// their memory and bandwidth and keeps float32's range (so no loss scaling, which TorchSharp lacks with autocast); on
/// the CPU what was asked (float32 unless a stage asks for bfloat16), so no CPU number moves. Trained parts stay float32
/// everywhere; a frozen part's activations are cast back to float32 where they enter a trained part.
/// </summary>
public static class FrozenPrecision
{
    /// <summary>The dtype a frozen part is held in on <paramref name="device"/>, given what the stage asked for on the CPU.</summary>
    public static ScalarType For(Device device, ScalarType requestedOnCpu = ScalarType.Float32) =>
        device.type == DeviceType.CUDA ? ScalarType.BFloat16 : requestedOnCpu;
}
