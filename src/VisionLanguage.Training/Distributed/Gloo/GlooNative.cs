using System.Runtime.InteropServices;

namespace VisionLanguage.Training.Distributed.Gloo;

/// <summary>
/// The C API of the Gloo shim (<c>native/gloo/vl_gloo.h</c>, built by <c>scripts/build-native.sh</c>), loaded once per
/// process from, in order: the file <c>VL_GLOO_LIBRARY</c> names, <c>libvl_gloo.so</c> beside the application, and the
/// repository's <c>.native/</c> above it. The library is loaded explicitly and its functions bound as delegates rather
/// than through <c>[LibraryImport]</c> and a DLL-import resolver: the generated stubs need <c>AllowUnsafeBlocks</c> for
/// the whole assembly, and an assembly has one resolver, which another backend may want.
/// </summary>
internal sealed class GlooNative
{
    /// <summary>The environment variable that names the shim; scripts/test.sh and the worker images set it.</summary>
    public const string LibraryVariable = "VL_GLOO_LIBRARY";

    public const string LibraryFileName = "libvl_gloo.so";

    // vl_gloo.h's VL_GLOO_ABI_VERSION: a library built from other sources is refused rather than called wrongly.
    private const int AbiVersion = 2;

    private static readonly Lazy<(GlooNative? Native, string? Problem)> Loaded = new(Load);

    private GlooNative(nint library, string path)
    {
        Path = path;
        LastErrorPointer = Bind<LastErrorFunction>(library, "vl_gloo_last_error");
        ImplementationPathPointer = Bind<LastErrorFunction>(library, "vl_gloo_implementation_path");
        SearchOrderPathPointer = Bind<LastErrorFunction>(library, "vl_gloo_search_order_path");
        SinkPut = Bind<SinkPutFunction>(library, "vl_gloo_sink_put");
        Connect = Bind<ConnectFunction>(library, "vl_gloo_connect");
        AllReduceSum = Bind<AllReduceSumFunction>(library, "vl_gloo_allreduce_sum");
        Broadcast = Bind<BroadcastFunction>(library, "vl_gloo_broadcast");
        AllGatherV = Bind<AllGatherVFunction>(library, "vl_gloo_allgatherv");
        Barrier = Bind<BarrierFunction>(library, "vl_gloo_barrier");
        Abort = Bind<ContextAction>(library, "vl_gloo_abort");
        Destroy = Bind<ContextAction>(library, "vl_gloo_destroy");
    }

    /// <summary>The loaded shim, or null with <see cref="Problem"/> saying why not.</summary>
    public static GlooNative? Instance => Loaded.Value.Native;

    /// <summary>Why the shim could not be loaded (every place tried, and the fix); null when it was.</summary>
    public static string? Problem => Loaded.Value.Problem;

    /// <summary>The file the shim was loaded from.</summary>
    public string Path { get; }

    /// <summary>The file providing the Gloo code the shim calls (Debian's libgloo.so.0, not libtorch_cpu.so's copy).</summary>
    public string ImplementationPath => Marshal.PtrToStringUTF8(ImplementationPathPointer()) ?? "";

    /// <summary>
    /// The file that a <c>gloo::</c> symbol resolves to in the search order libgloo.so.0 uses for its calls into itself
    /// (the global scope, then the shim's load group): libgloo.so.0 unless another Gloo sits in the global scope.
    /// </summary>
    public string SearchOrderPath => Marshal.PtrToStringUTF8(SearchOrderPathPointer()) ?? "";

    public SinkPutFunction SinkPut { get; }

    public ConnectFunction Connect { get; }

    public AllReduceSumFunction AllReduceSum { get; }

    public BroadcastFunction Broadcast { get; }

    public AllGatherVFunction AllGatherV { get; }

    public BarrierFunction Barrier { get; }

    public ContextAction Abort { get; }

    public ContextAction Destroy { get; }

    private LastErrorFunction LastErrorPointer { get; }

    private LastErrorFunction ImplementationPathPointer { get; }

    private LastErrorFunction SearchOrderPathPointer { get; }

    /// <summary>The shim's message for the last failure on this thread; read it on the thread whose call failed.</summary>
    public string LastError() => Marshal.PtrToStringUTF8(LastErrorPointer()) ?? "";

    /// <summary>The start of a CPU tensor's data (TorchSharp's own export; TorchSharp keeps its accessor internal).</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    public static extern nint TensorData(nint tensor);

    private static (GlooNative?, string?) Load()
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates())
        {
            if (!File.Exists(candidate.Path))
            {
                tried.Add($"{candidate.Path} ({candidate.Source}): no such file");
                continue;
            }

            if (!NativeLibrary.TryLoad(candidate.Path, out var library))
            {
                tried.Add($"{candidate.Path} ({candidate.Source}): dlopen failed (is libgloo0 installed? `ldd {candidate.Path}` lists what is missing)");
                continue;
            }

            if (!NativeLibrary.TryGetExport(library, "vl_gloo_abi_version", out var versionExport))
            {
                tried.Add($"{candidate.Path} ({candidate.Source}): not the Gloo shim (no vl_gloo_abi_version)");
                continue;
            }

            var version = Marshal.GetDelegateForFunctionPointer<AbiVersionFunction>(versionExport)();
            if (version != AbiVersion)
            {
                tried.Add($"{candidate.Path} ({candidate.Source}): built with ABI version {version}, this code needs {AbiVersion}; rebuild it");
                continue;
            }

            return (new GlooNative(library, candidate.Path), null);
        }

        return (null, $"the Gloo shim {LibraryFileName} could not be loaded; tried {string.Join("; ", tried)}. "
            + $"Fix: run scripts/build-native.sh (it installs libgloo-dev and g++ if missing and builds .native/{LibraryFileName}), "
            + $"or set {LibraryVariable} to the built library");
    }

    private static IEnumerable<(string Path, string Source)> Candidates()
    {
        if (Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } named)
        {
            yield return (named, LibraryVariable);
        }

        yield return (System.IO.Path.Combine(AppContext.BaseDirectory, LibraryFileName), "beside the application");
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory).Parent; directory is not null; directory = directory.Parent)
        {
            var repositoryCopy = System.IO.Path.Combine(directory.FullName, ".native", LibraryFileName);
            if (File.Exists(repositoryCopy))
            {
                yield return (repositoryCopy, "the repository's .native/");
                yield break;
            }
        }
    }

    private static T Bind<T>(nint library, string name)
        where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int AbiVersionFunction();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nint LastErrorFunction();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void SinkPutFunction(nint sink, byte[] value, nuint length);

    /// <summary>vl_gloo_store_set_fn.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int StoreSetCallback(nint state, nint key, nint value, nuint length);

    /// <summary>vl_gloo_store_get_fn.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int StoreGetCallback(nint state, nint key, long timeoutMilliseconds, nint sink);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int ConnectFunction(
        int rank,
        int size,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string hostname,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? networkInterface,
        long joinTimeoutMilliseconds,
        long collectiveTimeoutMilliseconds,
        nint set,
        nint get,
        nint storeState,
        out nint context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AllReduceSumFunction(nint context, WireType type, nint data, nuint count);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int BroadcastFunction(nint context, nint data, nuint bytes, int root);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AllGatherVFunction(nint context, nint input, nuint inputBytes, nint output, ulong[] bytesPerRank);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int BarrierFunction(nint context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void ContextAction(nint context);

    /// <summary>vl_gloo_dtype: the element types the shim's all-reduce sums.</summary>
    public enum WireType
    {
        Float32 = 0,
        Float64 = 1,
        Int32 = 2,
        Int64 = 3,
    }

    /// <summary>vl_gloo_status.</summary>
    public enum Status
    {
        Ok = 0,
        IoError = -1,
        StoreError = -2,
        Error = -3,
    }
}
