using System.Runtime.InteropServices;
using VisionLanguage.Training.Distributed.Nccl;

namespace GpuCheck;

/// <summary>
/// The few CUDA runtime calls the NCCL-only steps need for device memory without TorchSharp, from the library
/// <see cref="NcclNative.LoadCudaRuntime"/> chose. Copies use the legacy default stream, so they are ordered after
/// NCCL's work on it.
/// </summary>
internal static class CudaRuntime
{
    private const int HostToDevice = 1;
    private const int DeviceToHost = 2;

    public static int DeviceCount()
    {
        Check(cudaGetDeviceCount(out var count), "cudaGetDeviceCount");
        return count;
    }

    public static (int Runtime, int Driver) Versions()
    {
        Check(cudaRuntimeGetVersion(out var runtime), "cudaRuntimeGetVersion");
        Check(cudaDriverGetVersion(out var driver), "cudaDriverGetVersion");
        return (runtime, driver);
    }

    /// <summary>Device memory holding <paramref name="values"/>.</summary>
    public static nint Upload(float[] values)
    {
        Check(cudaMalloc(out var device, (nuint)(values.Length * sizeof(float))), "cudaMalloc");
        Check(cudaMemcpy(device, values, (nuint)(values.Length * sizeof(float)), HostToDevice), "cudaMemcpy to the device");
        return device;
    }

    public static float[] Download(nint device, int count)
    {
        var values = new float[count];
        Check(cudaMemcpy(values, device, (nuint)(count * sizeof(float)), DeviceToHost), "cudaMemcpy to the host");
        return values;
    }

    public static void Free(nint device) => Check(cudaFree(device), "cudaFree");

    public static void Synchronize() => Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"{call} returned CUDA error {error} ({Marshal.PtrToStringUTF8(NcclNative.cudaGetErrorString(error))})");
        }
    }

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaGetDeviceCount(out int count);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaRuntimeGetVersion(out int version);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaDriverGetVersion(out int version);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaMalloc(out nint device, nuint bytes);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaFree(nint device);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaMemcpy(nint destination, float[] source, nuint bytes, int kind);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaMemcpy(float[] destination, nint source, nuint bytes, int kind);

    [DllImport(NcclNative.CudaRuntime)]
    private static extern int cudaDeviceSynchronize();
}
