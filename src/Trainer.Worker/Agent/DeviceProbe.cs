using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Agent;

/// <summary>
/// Turns <see cref="WorkerOptions"/> into the capacity the worker offers, asking libtorch (through
/// <see cref="TorchRuntime"/>: the agent's own code touches no TorchSharp type) only for <c>auto</c>.
/// </summary>
internal static class DeviceProbe
{
    public static WorkerCapacityInfo Capacity(WorkerOptions options, IReadOnlyList<string> stageKinds, ILogger logger)
    {
        var device = options.Device == "auto" ? (CudaAvailable(logger) ? "cuda" : "cpu") : options.Device;
        return new WorkerCapacityInfo
        {
            Slots = options.Slots,
            Device = device,
            DeviceName = options.DeviceName is { Length: > 0 } name ? name : device == "cpu" ? CpuModel() : "",
            MemoryGib = options.MemoryGib > 0 ? options.MemoryGib : device == "cpu" ? RamGib() : 0,
            Labels = new Dictionary<string, string>(options.Labels),
            ImportRoots = [.. options.ImportRoots.Select(ImportRoots.Normalize)],
            StageKinds = stageKinds,
            CollectiveBackends = TorchRuntime.CollectiveBackends(device, logger),
        };
    }

    private static bool CudaAvailable(ILogger logger)
    {
        try
        {
            return TorchRuntime.CudaAvailable();
        }
        catch (Exception exception) when (exception is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            // Without the native library nothing trains here, but the worker still registers so the failure is visible.
            logger.LogError(exception, "TorchSharp's native library did not load, so CUDA cannot be probed; offering CPU. Set Worker:Device to skip the probe");
            return false;
        }
    }

    /// <summary>
    /// Sizes libtorch's intra-op thread pool to <see cref="WorkerOptions.TorchThreads"/> when it is set, for the whole
    /// process; returns the pool's size then, and null when libtorch keeps its default (TorchSharp is not loaded for it).
    /// </summary>
    public static int? ApplyTorchThreads(WorkerOptions options) =>
        options.TorchThreads > 0 ? TorchRuntime.SetThreads(options.TorchThreads) : null;

    private static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!File.Exists(cpuInfo))
        {
            return "";
        }

        var line = File.ReadLines(cpuInfo).FirstOrDefault(text => text.StartsWith("model name", StringComparison.Ordinal));
        return line?.Split(':', 2) is [_, var model] ? model.Trim() : "";
    }

    private static double RamGib() => Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1);
}
