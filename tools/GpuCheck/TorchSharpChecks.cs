using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using TorchSharp;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Nccl;
using static TorchSharp.torch;

namespace GpuCheck;

/// <summary>
/// TorchSharp 0.107 on this machine's PyTorch libraries (a best-effort smoke test: its native library was built for
/// libtorch 2.10), then the real <see cref="NcclCollectives"/> on CUDA tensors and a few training steps compared with
/// the same steps on the CPU.
/// </summary>
internal static class TorchSharpChecks
{
    private static readonly NcclOptions Options = new() { JoinTimeout = TimeSpan.FromSeconds(60), CollectiveTimeout = TimeSpan.FromSeconds(60) };

    /// <summary>Preloads PyTorch's CUDA libtorch by path (so its copies of libtorch are the ones used), then initialises CUDA.</summary>
    public static JsonObject Load(string torchLib)
    {
        var libtorchCuda = Path.Combine(torchLib, "libtorch_cuda.so");
        NativeLibrary.Load(libtorchCuda);
        InitializeDeviceType(DeviceType.CUDA);
        return new JsonObject
        {
            ["libtorchCuda"] = libtorchCuda,
            ["torchSharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
            ["cudaAvailable"] = cuda.is_available(),
            ["cudaDevices"] = cuda.device_count(),
        };
    }

    /// <summary>
    /// Every collective of <see cref="NcclCollectives"/> at world size 1 on CUDA tensors, including a matmul result
    /// all-gathered with no host synchronisation in between (so a wrong pointer or stream shows as wrong numbers), an
    /// abort and a fresh communicator after it.
    /// </summary>
    public static JsonObject Collectives()
    {
        using var scope = NewDisposeScope();
        var device = new Device(DeviceType.CUDA, 0);
        var result = new JsonObject();
        var collectives = NcclCollectives.ConnectAsync(0, 1, new InMemoryRendezvousStore(), Options, CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            manual_seed(7);
            var a = randn(2048, 2048, device: device);
            var product = a.matmul(a);                              // still running when NCCL reads it, unless stream order holds
            var gathered = collectives.AllGather(product);
            result["allGatherOfMatmulExact"] = Same(gathered, product);

            var gradients = arange(1000, dtype: ScalarType.Float32, device: device).div(7);
            var counts = arange(10, dtype: ScalarType.Int64, device: device);
            var expectedGradients = gradients.clone();
            var expectedCounts = counts.clone();
            collectives.AllReduce([gradients, counts], ReduceOperation.Mean);
            result["allReduceMeanUnchangedAtWorld1"] = Same(gradients, expectedGradients) && Same(counts, expectedCounts);

            var half = ones(33, dtype: ScalarType.BFloat16, device: device);
            collectives.Broadcast([half], root: 0);
            result["broadcastBfloat16Unchanged"] = Same(half, ones(33, dtype: ScalarType.BFloat16, device: device));

            collectives.Barrier();
            result["anyTrue"] = collectives.Any(true);
            result["anyFalse"] = collectives.Any(false);
            var cpuRefused = false;
            try
            {
                collectives.AllReduce([zeros(4)], ReduceOperation.Sum);
            }
            catch (ArgumentException)
            {
                cpuRefused = true;
            }

            result["cpuTensorRefused"] = cpuRefused;

            collectives.Abort();
            result["abortCancelsToken"] = collectives.Aborted.IsCancellationRequested;
            var abortedRefuses = false;
            try
            {
                collectives.Barrier();
            }
            catch (OperationCanceledException)
            {
                abortedRefuses = true;
            }

            result["collectiveAfterAbortRefused"] = abortedRefuses;
        }
        finally
        {
            collectives.Dispose();
        }

        using (var again = NcclCollectives.ConnectAsync(0, 1, new InMemoryRendezvousStore(), Options, CancellationToken.None).GetAwaiter().GetResult())
        {
            var values = full([5], 3.0, device: device);
            again.AllReduce([values], ReduceOperation.Sum);
            result["reinitialisedAllReduceRight"] = Same(values, full([5], 3.0, device: device));
        }

        result["finalisedCleanly"] = true;
        var failures = result.Where(entry => entry.Value is JsonValue value && value.TryGetValue<bool>(out var ok) && !ok && entry.Key != "anyFalse")
            .Select(entry => entry.Key).ToList();
        if ((bool)result["anyFalse"]!)
        {
            failures.Add("anyFalse");
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException($"NcclCollectives on CUDA gave wrong results: {string.Join(", ", failures)}; details: {result.ToJsonString()}");
        }

        return result;
    }

    /// <summary>
    /// Five SGD steps of a small MLP on CUDA, gradients averaged through <see cref="NcclCollectives"/> (world size 1),
    /// against the same steps on the CPU from the same initial weights and data.
    /// </summary>
    public static JsonObject Training()
    {
        using var scope = NewDisposeScope();
        var device = new Device(DeviceType.CUDA, 0);
        manual_seed(11);
        var inputs = randn(64, 16);
        var labels = randint(0, 4, [64]);
        var (cpuLosses, cpuWeights) = Train(CPU, inputs, labels, null);
        using var collectives = NcclCollectives.ConnectAsync(0, 1, new InMemoryRendezvousStore(), Options, CancellationToken.None).GetAwaiter().GetResult();
        var (cudaLosses, cudaWeights) = Train(device, inputs, labels, collectives);

        var maxDifference = cpuWeights.Zip(cudaWeights, (cpu, gpu) => (cpu - gpu.cpu()).abs().max().item<float>()).Max();
        var result = new JsonObject
        {
            ["steps"] = cpuLosses.Count,
            ["cpuLosses"] = new JsonArray([.. cpuLosses.Select(loss => (JsonNode)loss)]),
            ["cudaLosses"] = new JsonArray([.. cudaLosses.Select(loss => (JsonNode)loss)]),
            ["maxParameterDifference"] = maxDifference,
        };
        if (!(maxDifference < 1e-4f) || cpuLosses[^1] >= cpuLosses[0])
        {
            throw new InvalidOperationException($"CUDA training does not match the CPU's (or the loss did not fall): {result.ToJsonString()}");
        }

        return result;
    }

    private static bool Same(Tensor left, Tensor right) => left.equal(right).item<bool>();

    private static (List<float> Losses, List<Tensor> Weights) Train(Device device, Tensor inputs, Tensor labels, ICollectives? collectives)
    {
        manual_seed(5);
        var model = nn.Sequential(("fc1", nn.Linear(16, 32)), ("relu", nn.ReLU()), ("fc2", nn.Linear(32, 4)));
        model.to(device);
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var x = inputs.to(device);
        var y = labels.to(device);
        var losses = new List<float>();
        for (var step = 0; step < 5; step++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            collectives?.AllReduce([.. model.parameters().Select(parameter => parameter.grad!)], ReduceOperation.Mean);
            optimizer.step();
            losses.Add(loss.item<float>());
        }

        return (losses, [.. model.parameters().Select(parameter => parameter.detach().cpu())]);
    }
}
