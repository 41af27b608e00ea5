using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Trainer.Worker.Runners;

/// <summary>
/// What the agent asks of libtorch, on the runners' side of the worker where TorchSharp lives. Each call is kept out of
/// line, so TorchSharp (and its native library) loads only when one is made: a worker told its device, and the agent's
/// tests, never load it.
/// </summary>
internal static class TorchRuntime
{
    /// <summary>Whether libtorch sees a CUDA device.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool CudaAvailable() => TorchSharp.torch.cuda.is_available();

    /// <summary>The collective backends this process can join a gang of <paramref name="device"/> workers with (none when its native library does not load).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static IReadOnlyList<string> CollectiveBackends(string device, ILogger logger) => Gangs.GangCollectives.Available(device, logger);

    /// <summary>Sizes libtorch's intra-op thread pool for the whole process; returns the size it took.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int SetThreads(int threads)
    {
        TorchSharp.torch.set_num_threads(threads);
        return TorchSharp.torch.get_num_threads();
    }
}
