using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Trainer.Worker.Observability;

/// <summary>
/// The memory in use on each GPU, read through NVML (<c>libnvidia-ml.so.1</c>, which the NVIDIA driver installs).
/// TorchSharp does not expose its CUDA allocator's statistics, so this is the device's memory in use by every
/// process, as <c>nvidia-smi</c> shows it. Only opened on a worker that trains on CUDA.
/// </summary>
internal sealed class NvmlGpuMemory
{
    private const string Library = "libnvidia-ml.so.1";
    private const int Success = 0;

    private readonly IntPtr[] _devices;

    private NvmlGpuMemory(IntPtr[] devices) => _devices = devices;

    /// <summary>NVML's view of the GPUs, or null (with the reason logged) when NVML is not there or fails.</summary>
    public static NvmlGpuMemory? TryOpen(ILogger logger)
    {
        try
        {
            if (nvmlInit_v2() != Success || nvmlDeviceGetCount_v2(out var count) != Success)
            {
                logger.LogWarning("NVML did not start; GPU memory is not reported");
                return null;
            }

            var devices = new IntPtr[count];
            for (var index = 0u; index < count; index++)
            {
                if (nvmlDeviceGetHandleByIndex_v2(index, out devices[index]) != Success)
                {
                    logger.LogWarning("NVML has no handle for GPU {Index}; GPU memory is not reported", index);
                    return null;
                }
            }

            return new NvmlGpuMemory(devices);
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            logger.LogWarning("{Library} is not loadable ({Reason}); GPU memory is not reported", Library, exception.Message);
            return null;
        }
    }

    /// <summary>Bytes in use per GPU, tagged by its index; a GPU NVML cannot read is left out.</summary>
    public IEnumerable<Measurement<long>> ReadUsed() => Read(memory => memory.Used);

    /// <summary>Each GPU's memory in bytes, tagged by its index; a GPU NVML cannot read is left out.</summary>
    public IEnumerable<Measurement<long>> ReadTotal() => Read(memory => memory.Total);

    private IEnumerable<Measurement<long>> Read(Func<NvmlMemory, ulong> field)
    {
        for (var index = 0; index < _devices.Length; index++)
        {
            if (nvmlDeviceGetMemoryInfo(_devices[index], out var memory) == Success)
            {
                yield return new Measurement<long>((long)field(memory), new KeyValuePair<string, object?>("gpu", index.ToString(CultureInfo.InvariantCulture)));
            }
        }
    }

    [DllImport(Library)]
    private static extern int nvmlInit_v2();

    [DllImport(Library)]
    private static extern int nvmlDeviceGetCount_v2(out uint count);

    [DllImport(Library)]
    private static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);

    [DllImport(Library)]
    private static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out NvmlMemory memory);

    /// <summary>NVML's <c>nvmlMemory_t</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}
