using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>
/// <see cref="INcclApi"/> on the native libraries: NCCL, the CUDA runtime's stream query, and TorchSharp's tensor data
/// pointer. The communicator's device is <c>cuda:0</c>: TorchSharp cannot select a CUDA device, so a worker process sees
/// its one GPU as device 0 (<c>CUDA_VISIBLE_DEVICES</c>), which is the device NCCL binds the communicator to.
/// </summary>
internal sealed class NativeNcclApi : INcclApi
{
    private NativeNcclApi()
    {
    }

    public Device Device { get; } = new(DeviceType.CUDA, 0);

    /// <summary>Loads NCCL and the CUDA runtime (<see cref="NcclNative"/>) and returns the API on them.</summary>
    public static NativeNcclApi Load()
    {
        NcclNative.LoadNccl();
        NcclNative.LoadCudaRuntime();
        return new NativeNcclApi();
    }

    public NcclResult GetVersion(out int version) => NcclNative.ncclGetVersion(out version);

    public NcclResult GetUniqueId(out NcclUniqueId uniqueId) => NcclNative.ncclGetUniqueId(out uniqueId);

    public NcclResult CommInitRankConfig(out nint comm, int worldSize, NcclUniqueId uniqueId, int rank, ref NcclConfig config) =>
        NcclNative.ncclCommInitRankConfig(out comm, worldSize, uniqueId, rank, ref config);

    public NcclResult AllReduce(nint send, nint receive, nuint count, NcclDataType dataType, NcclRedOp operation, nint comm, nint stream) =>
        NcclNative.ncclAllReduce(send, receive, count, dataType, operation, comm, stream);

    public NcclResult Broadcast(nint send, nint receive, nuint count, NcclDataType dataType, int root, nint comm, nint stream) =>
        NcclNative.ncclBroadcast(send, receive, count, dataType, root, comm, stream);

    public NcclResult AllGather(nint send, nint receive, nuint sendCount, NcclDataType dataType, nint comm, nint stream) =>
        NcclNative.ncclAllGather(send, receive, sendCount, dataType, comm, stream);

    public NcclResult GroupStart() => NcclNative.ncclGroupStart();

    public NcclResult GroupEnd() => NcclNative.ncclGroupEnd();

    public NcclResult CommGetAsyncError(nint comm, out NcclResult asyncError) => NcclNative.ncclCommGetAsyncError(comm, out asyncError);

    public NcclResult CommFinalize(nint comm) => NcclNative.ncclCommFinalize(comm);

    public NcclResult CommDestroy(nint comm) => NcclNative.ncclCommDestroy(comm);

    public NcclResult CommAbort(nint comm) => NcclNative.ncclCommAbort(comm);

    public string GetErrorString(NcclResult result) => Marshal.PtrToStringUTF8(NcclNative.ncclGetErrorString(result)) ?? "";

    public string GetLastError(nint comm) => Marshal.PtrToStringUTF8(NcclNative.ncclGetLastError(comm)) ?? "";

    public int StreamQuery(nint stream) => NcclNative.cudaStreamQuery(stream);

    public string CudaErrorString(int error) => Marshal.PtrToStringUTF8(NcclNative.cudaGetErrorString(error)) ?? "";

    public nint DevicePointer(Tensor tensor) => CudaPointer(tensor);

    /// <summary>The device address of a contiguous CUDA <paramref name="tensor"/>; refuses any other.</summary>
    internal static nint CudaPointer(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CUDA)
        {
            throw new ArgumentException(
                $"NCCL reads and writes GPU memory, but this {tensor.dtype} tensor of shape [{string.Join(", ", tensor.shape)}] is on " +
                $"{tensor.device}: move it to CUDA (.to(CUDA)) before the collective, or use a CPU backend (Gloo) for CPU tensors",
                nameof(tensor));
        }

        if (!tensor.is_contiguous())
        {
            throw new ArgumentException(
                $"NCCL reads and writes one dense block, but this {tensor.dtype} tensor of shape [{string.Join(", ", tensor.shape)}] is not " +
                "contiguous: reduce a contiguous tensor (a flat bucket, or .contiguous() copied back afterwards)",
                nameof(tensor));
        }

        return DataPointer(tensor);
    }

    /// <summary><c>THSTensor_data</c> on any tensor, CPU included: its first element's address.</summary>
    internal static nint DataPointer(Tensor tensor)
    {
        var pointer = NcclNative.THSTensor_data(tensor.Handle);
        GC.KeepAlive(tensor);
        return pointer;
    }
}
