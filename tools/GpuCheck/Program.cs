using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using GpuCheck;
using VisionLanguage.Training.Distributed.Nccl;

// The GPU check: NCCL alone on device memory, then TorchSharp on this machine's PyTorch, results in one JSON file.
// Usage: GpuCheck [--output FILE] [--torch-lib DIR] [--nccl-header FILE] [--ldd-undefined N] [--skip-torchsharp]
// Exit codes: CheckReport.Passed (0), Failed (1), NcclAbsent (2), Usage (3), Hung (4). Run by scripts/gpu-check.sh.
var options = new Dictionary<string, string?>(StringComparer.Ordinal);
for (var i = 0; i < args.Length; i++)
{
    var takesValue = args[i] is "--output" or "--torch-lib" or "--nccl-header" or "--ldd-undefined" or "--child-rank" or "--store";
    if (!takesValue && args[i] != "--skip-torchsharp" || takesValue && i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"gpu-check: unknown or incomplete argument '{args[i]}'. Usage: GpuCheck [--output FILE] [--torch-lib DIR] " +
            "[--nccl-header FILE] [--ldd-undefined N] [--skip-torchsharp]");
        return CheckReport.Usage;
    }

    options[args[i]] = takesValue ? args[++i] : "true";
}

if (options.TryGetValue("--child-rank", out var childRank))
{
    return MultiRank.Child(int.Parse(childRank!, CultureInfo.InvariantCulture), options["--store"]!);
}

var output = options.GetValueOrDefault("--output") ?? "gpu-check-results/gpu-check.json";
var torchLib = options.GetValueOrDefault("--torch-lib");
var lddUndefined = options.TryGetValue("--ldd-undefined", out var count) ? int.Parse(count!, CultureInfo.InvariantCulture) : (int?)null;
var report = new CheckReport(output);
var shortStep = TimeSpan.FromSeconds(30);
var longStep = TimeSpan.FromSeconds(120);

report.Step("environment", shortStep, () => new JsonObject
{
    ["os"] = RuntimeInformation.OSDescription,
    ["dotnet"] = RuntimeInformation.FrameworkDescription,
    ["processors"] = Environment.ProcessorCount,
    ["NCCL_LIBRARY"] = Environment.GetEnvironmentVariable("NCCL_LIBRARY"),
    ["CUDART_LIBRARY"] = Environment.GetEnvironmentVariable("CUDART_LIBRARY"),
    ["LD_LIBRARY_PATH"] = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"),
    ["torchLib"] = torchLib,
    ["lddUndefinedSymbols"] = lddUndefined,
});

report.Step("nccl.header", shortStep, () =>
{
    var header = NcclHeader.Locate(options.GetValueOrDefault("--nccl-header"), Environment.GetEnvironmentVariable("NCCL_LIBRARY"))
        ?? throw new SkipException("no nccl.h found: pass --nccl-header, or set NCCL_LIBRARY to a libnccl.so.2 with ../include/nccl.h beside it");
    var comparison = NcclHeader.Compare(header);
    return (bool)comparison["matches"]!
        ? comparison
        : throw new InvalidDataException($"the project's NCCL values differ from {header}: {comparison["mismatches"]!.ToJsonString()}");
});

string? ncclMissing = null;
report.Step("nccl.load", shortStep, () =>
{
    try
    {
        NcclNative.LoadNccl();
        return new JsonObject { ["loaded"] = true };
    }
    catch (DllNotFoundException exception)
    {
        ncclMissing = exception.Message;
        throw new SkipException(exception.Message);
    }
});
report.Root["ncclPresent"] = ncclMissing is null;
if (ncclMissing is not null)
{
    report.Root["summary"] = "NCCL is not present on this machine, so no GPU step ran.";
    return report.Finish(CheckReport.NcclAbsent);
}

var version = 0;
report.Step("nccl.version", shortStep, () =>
{
    var result = NcclNative.ncclGetVersion(out version);
    if (result != NcclResult.Success)
    {
        throw new InvalidOperationException($"ncclGetVersion returned {result}");
    }

    return new JsonObject { ["code"] = version, ["version"] = $"{version / 10000}.{version / 100 % 100}.{version % 100}" };
});

var cudaReady = report.Step("cuda.runtime", shortStep, () =>
{
    NcclNative.LoadCudaRuntime();
    var (runtime, driver) = CudaRuntime.Versions();
    var devices = CudaRuntime.DeviceCount();
    return devices > 0
        ? new JsonObject { ["runtime"] = runtime, ["driver"] = driver, ["devices"] = devices }
        : throw new InvalidOperationException("the CUDA runtime sees no GPU");
});

if (cudaReady)
{
    report.Step("nccl.world1", longStep, () =>
    {
        var api = NativeNcclApi.Load();
        var raw = new RawNccl(api, TimeSpan.FromSeconds(60));
        new RawNccl(api, TimeSpan.Zero).Expect(api.GetUniqueId(out var id), "ncclGetUniqueId", 0);
        // The id goes through a file, standing in for the orchestrator's rendezvous store.
        var idFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, "nccl-unique-id.bin");
        File.WriteAllBytes(idFile, id.ToArray());
        var (comm, initPolls) = raw.Join(NcclUniqueId.FromBytes(File.ReadAllBytes(idFile)), 1, 0);
        var first = raw.Collectives(comm);
        var aborted = api.CommAbort(comm);

        raw.Expect(api.GetUniqueId(out var secondId), "ncclGetUniqueId", 0);
        var (again, _) = raw.Join(secondId, 1, 0);
        var second = raw.Collectives(again);
        raw.Expect(api.CommFinalize(again), "ncclCommFinalize", again);
        raw.Wait(again, onStream: false, "ncclCommFinalize");
        var destroyed = api.CommDestroy(again);
        return new JsonObject
        {
            ["initPolls"] = initPolls,
            ["collectives"] = first,
            ["abort"] = aborted.ToString(),
            ["afterReinit"] = second,
            ["destroy"] = destroyed.ToString(),
        };
    });

    report.Step("nccl.multirank", TimeSpan.FromSeconds(200), () => version >= 23000
        ? MultiRank.Run(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, "multirank-store"))
        : throw new SkipException(
            $"skipped: NCCL {version} is older than 2.30 (23000), which refuses two ranks on one GPU ('Duplicate GPU detected'); " +
            "NCCL_MULTI_RANK_GPU_ENABLE exists from 2.30. The multi-rank logic is covered by the CPU (Gloo) tests"));
}

var torchSharpLoaded = report.Step("torchsharp.load", longStep, () =>
{
    if (options.ContainsKey("--skip-torchsharp"))
    {
        throw new SkipException("skipped: --skip-torchsharp");
    }

    if (torchLib is null || !File.Exists(Path.Combine(torchLib, "libtorch_cuda.so")))
    {
        throw new SkipException($"skipped: no libtorch_cuda.so in --torch-lib '{torchLib}'");
    }

    if (lddUndefined is not 0)
    {
        throw new SkipException(
            $"skipped: ldd -r reported {(lddUndefined is null ? "nothing (not run)" : $"{lddUndefined} undefined symbols")} for libLibTorchSharp.so " +
            "against torch's libraries; TorchSharp 0.107 was built for libtorch 2.10 and would die at the first missing symbol");
    }

    return cudaReady ? TorchSharpChecks.Load(torchLib) : throw new SkipException("skipped: the CUDA runtime step failed");
});

if (torchSharpLoaded)
{
    report.Step("torchsharp.collectives", longStep, TorchSharpChecks.Collectives);
    report.Step("torchsharp.training", longStep, TorchSharpChecks.Training);
}

report.Root["summary"] = report.AnyFailed ? "Some steps failed: see their reasons." : "Every step that ran passed.";
return report.Finish(report.AnyFailed ? CheckReport.Failed : CheckReport.Passed);
