using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>
/// Seeded draws for tensors on any device. TorchSharp 0.107 builds every <see cref="Generator"/> on the CPU whatever
/// device it is given (its native <c>THSGenerator_new</c> calls <c>createCPUGenerator</c> and ignores the device), and
/// libtorch refuses a CPU generator for a CUDA op ("Expected a 'cuda' device type for generator"). So a model's
/// generator lives on the CPU, every seeded draw is made there and the result moved to the device it is for: its state
/// is the same bytes on every device, a checkpoint keeps it as before, and a resume on CUDA continues exactly. On the CPU
/// these are the very calls made before, so no number moves.
/// </summary>
public static class DeviceRandom
{
    /// <summary>A generator seeded with <paramref name="seed"/>, on the CPU where TorchSharp keeps every generator.</summary>
    public static Generator Create(ulong seed) => new(seed);

    /// <summary>Uniform draws in [0, 1) of <paramref name="shape"/>, made on the CPU and placed on <paramref name="device"/>.</summary>
    public static Tensor Rand(long[] shape, ScalarType dtype, Device device, Generator generator)
    {
        if (device.type == DeviceType.CPU)
        {
            return rand(shape, dtype: dtype, device: device, generator: generator);
        }

        using var drawn = rand(shape, dtype: dtype, device: CPU, generator: generator);
        return drawn.to(device);
    }

    /// <summary>
    /// <paramref name="samples"/> indices per row of <paramref name="weights"/> (rows, classes), drawn on the CPU and
    /// placed where the weights are.
    /// </summary>
    public static Tensor Multinomial(Tensor weights, long samples, Generator generator)
    {
        if (weights.device_type == DeviceType.CPU)
        {
            return weights.multinomial(samples, generator: generator);
        }

        using var onCpu = weights.cpu();
        using var drawn = onCpu.multinomial(samples, generator: generator);
        return drawn.to(weights.device);
    }
}
