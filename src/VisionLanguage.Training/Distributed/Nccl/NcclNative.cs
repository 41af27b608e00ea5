using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>
/// The C functions <see cref="NativeNcclApi"/> calls, and where their libraries come from. NCCL is
/// <c>$NCCL_LIBRARY</c> if set, else <c>libnccl.so.2</c> by soname (which is the copy PyTorch's <c>libtorch_cuda.so</c>
/// already loaded, when it did); the CUDA runtime is <c>$CUDART_LIBRARY</c>, else <c>libcudart.so.13</c> or
/// <c>.so.12</c>.
/// </summary>
/// <remarks>
/// <c>DllImport</c> rather than <c>LibraryImport</c>, as elsewhere in this project (<c>DirectoryDurability</c>): every
/// signature here is blittable, so the runtime calls without marshalling, and the generator's code would need
/// <c>AllowUnsafeBlocks</c> for the whole training library. The library names are logical names no file carries, so
/// the runtime's own probing fails and asks <see cref="AssemblyLoadContext.ResolvingUnmanagedDll"/>, which hands it the
/// library <see cref="LoadNccl"/> or <see cref="LoadCudaRuntime"/> chose. An event rather than
/// <c>NativeLibrary.SetDllImportResolver</c>, which allows one resolver per assembly and would
/// keep any other native binding of this library (another backend's) from having its own.
/// </remarks>
internal static class NcclNative
{
    public const string Nccl = "nccl (loaded by NcclNative)";
    public const string CudaRuntime = "cudart (loaded by NcclNative)";

    private static readonly Lock Loading = new();
    private static nint _nccl;
    private static nint _cudaRuntime;
    private static bool _registered;

    /// <summary>Loads NCCL once; throws <see cref="DllNotFoundException"/> naming every place tried when none loads.</summary>
    public static void LoadNccl()
    {
        lock (Loading)
        {
            Register();
            if (_nccl == 0)
            {
                _nccl = LoadFirst(
                    "NCCL",
                    "NCCL_LIBRARY",
                    ["libnccl.so.2"],
                    "install NCCL (PyTorch's CUDA wheels bring it as the nvidia-nccl package: site-packages/nvidia/nccl/lib/libnccl.so.2) " +
                    "and set NCCL_LIBRARY to that file, or put its folder on LD_LIBRARY_PATH");
            }
        }
    }

    /// <summary>Loads the CUDA runtime once; throws <see cref="DllNotFoundException"/> naming every place tried when none loads.</summary>
    public static void LoadCudaRuntime()
    {
        lock (Loading)
        {
            Register();
            if (_cudaRuntime == 0)
            {
                _cudaRuntime = LoadFirst(
                    "the CUDA runtime",
                    "CUDART_LIBRARY",
                    ["libcudart.so.13", "libcudart.so.12"],
                    "set CUDART_LIBRARY to the libcudart.so.* PyTorch uses (pip: site-packages/nvidia/cuda_runtime/lib or " +
                    "site-packages/nvidia/cu13/lib), or put its folder on LD_LIBRARY_PATH");
            }
        }
    }

    [DllImport(Nccl)]
    public static extern NcclResult ncclGetVersion(out int version);

    [DllImport(Nccl)]
    public static extern NcclResult ncclGetUniqueId(out NcclUniqueId uniqueId);

    [DllImport(Nccl)]
    public static extern NcclResult ncclCommInitRankConfig(out nint comm, int nranks, NcclUniqueId commId, int rank, ref NcclConfig config);

    [DllImport(Nccl)]
    public static extern NcclResult ncclAllReduce(nint sendbuff, nint recvbuff, nuint count, NcclDataType datatype, NcclRedOp op, nint comm, nint stream);

    [DllImport(Nccl)]
    public static extern NcclResult ncclBroadcast(nint sendbuff, nint recvbuff, nuint count, NcclDataType datatype, int root, nint comm, nint stream);

    [DllImport(Nccl)]
    public static extern NcclResult ncclAllGather(nint sendbuff, nint recvbuff, nuint sendcount, NcclDataType datatype, nint comm, nint stream);

    [DllImport(Nccl)]
    public static extern NcclResult ncclGroupStart();

    [DllImport(Nccl)]
    public static extern NcclResult ncclGroupEnd();

    [DllImport(Nccl)]
    public static extern NcclResult ncclCommGetAsyncError(nint comm, out NcclResult asyncError);

    [DllImport(Nccl)]
    public static extern NcclResult ncclCommFinalize(nint comm);

    [DllImport(Nccl)]
    public static extern NcclResult ncclCommDestroy(nint comm);

    [DllImport(Nccl)]
    public static extern NcclResult ncclCommAbort(nint comm);

    [DllImport(Nccl)]
    public static extern nint ncclGetErrorString(NcclResult result);

    [DllImport(Nccl)]
    public static extern nint ncclGetLastError(nint comm);

    [DllImport(CudaRuntime)]
    public static extern int cudaStreamQuery(nint stream);

    [DllImport(CudaRuntime)]
    public static extern nint cudaGetErrorString(int error);

    /// <summary>
    /// TorchSharp's native <c>THSTensor_data</c>: <c>at::Tensor::data_ptr()</c>, storage offset included, on the tensor's
    /// device. Exported with C linkage by <c>libLibTorchSharp.so</c> but internal to TorchSharp's managed API, so this
    /// depends on TorchSharp 0.107's native library; <c>NcclInteropTests</c> holds it.
    /// </summary>
    [DllImport("LibTorchSharp")]
    public static extern nint THSTensor_data(nint tensor);

    private static void Register()
    {
        if (!_registered)
        {
            var context = AssemblyLoadContext.GetLoadContext(typeof(NcclNative).Assembly) ?? AssemblyLoadContext.Default;
            context.ResolvingUnmanagedDll += Resolve;
            _registered = true;
        }
    }

    private static nint Resolve(Assembly assembly, string name)
    {
        if (assembly != typeof(NcclNative).Assembly)
        {
            return 0;
        }

        lock (Loading)
        {
            return name switch
            {
                Nccl => _nccl,
                CudaRuntime => _cudaRuntime,
                _ => 0,
            };
        }
    }

    private static nint LoadFirst(string what, string variable, string[] sonames, string fix)
    {
        var tried = new List<string>();
        var path = Environment.GetEnvironmentVariable(variable);
        IEnumerable<string> candidates = string.IsNullOrEmpty(path) ? sonames : [path, .. sonames];
        foreach (var candidate in candidates)
        {
            try
            {
                return NativeLibrary.Load(candidate);
            }
            catch (DllNotFoundException exception)
            {
                tried.Add($"{candidate}: {exception.Message}");
            }
        }

        throw new DllNotFoundException(
            $"{what} is not loadable ({variable} is {(string.IsNullOrEmpty(path) ? "not set" : $"'{path}'")}); tried " +
            $"{string.Join("; ", tried)}. To fix: {fix}.");
    }
}
