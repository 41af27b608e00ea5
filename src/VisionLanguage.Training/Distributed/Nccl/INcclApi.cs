using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>
/// What <see cref="NcclCollectives"/> calls outside managed code: NCCL, one CUDA runtime query, and the device memory of
/// a tensor. <see cref="NativeNcclApi"/> calls the libraries; tests record the calls with a double of their own. Each
/// NCCL method is the C function of the same name (<c>nccl.h</c>) with its arguments in the same order.
/// </summary>
internal interface INcclApi
{
    /// <summary>The device the communicator's ranks hold their tensors on; scratch tensors (a barrier's) go there.</summary>
    Device Device { get; }

    NcclResult GetVersion(out int version);

    NcclResult GetUniqueId(out NcclUniqueId uniqueId);

    NcclResult CommInitRankConfig(out nint comm, int worldSize, NcclUniqueId uniqueId, int rank, ref NcclConfig config);

    NcclResult AllReduce(nint send, nint receive, nuint count, NcclDataType dataType, NcclRedOp operation, nint comm, nint stream);

    NcclResult Broadcast(nint send, nint receive, nuint count, NcclDataType dataType, int root, nint comm, nint stream);

    NcclResult AllGather(nint send, nint receive, nuint sendCount, NcclDataType dataType, nint comm, nint stream);

    NcclResult GroupStart();

    NcclResult GroupEnd();

    NcclResult CommGetAsyncError(nint comm, out NcclResult asyncError);

    NcclResult CommFinalize(nint comm);

    NcclResult CommDestroy(nint comm);

    NcclResult CommAbort(nint comm);

    string GetErrorString(NcclResult result);

    /// <summary>The calling thread's last NCCL error in words (<c>ncclGetLastError</c>); empty when there is none.</summary>
    string GetLastError(nint comm);

    /// <summary><c>cudaStreamQuery</c>: 0 once all work on <paramref name="stream"/> is done, 600 (not ready) while it runs, else a CUDA error.</summary>
    int StreamQuery(nint stream);

    /// <summary><c>cudaGetErrorString</c>.</summary>
    string CudaErrorString(int error);

    /// <summary>The address of <paramref name="tensor"/>'s first element, for NCCL to read and write in place.</summary>
    nint DevicePointer(Tensor tensor);
}
