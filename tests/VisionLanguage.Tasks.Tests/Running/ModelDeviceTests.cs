using TorchSharp;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Tests.Running;

/// <summary>Where a run's model computes: the run's device, chosen at run time, and what is refused.</summary>
public sealed class ModelDeviceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("model-device-").FullName;

    [Fact]
    public void A_cpu_run_builds_its_model_on_the_cpu()
    {
        var run = Run(new RunIdentity(BlipPretrainTask.Kind, 0, 1, CPU));

        Assert.Equal(DeviceType.CPU, TaskTraining.ModelDevice(run).type);
        Assert.Equal(DeviceType.CPU, TaskTraining.RunDevice(run).type);
    }

    [Fact]
    public void A_cuda_run_computes_on_its_own_gpu_which_is_cuda_0()
    {
        var resolved = TaskTraining.ResolveDevice(new Device(DeviceType.CUDA, -1), cudaAvailable: true);
        var indexed = TaskTraining.ResolveDevice(new Device(DeviceType.CUDA, 1), cudaAvailable: true);

        Assert.Equal((DeviceType.CUDA, 0), (resolved.type, (int)resolved.index));
        Assert.Equal((DeviceType.CUDA, 1), (indexed.type, (int)indexed.index));
        Assert.Equal(DeviceType.CPU, TaskTraining.ResolveDevice(CPU, cudaAvailable: false).type);
    }

    [Fact]
    public void A_cuda_run_where_libtorch_has_no_cuda_is_refused_naming_the_fix()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TaskTraining.ResolveDevice(new Device(DeviceType.CUDA, 0), cudaAvailable: false));

        Assert.Contains("libtorch sees no CUDA device", error.Message, StringComparison.Ordinal);
        Assert.Contains("or give the worker the CPU device", error.Message, StringComparison.Ordinal);
        if (!cuda.is_available())
        {
            var run = Run(new RunIdentity(BlipPretrainTask.Kind, 0, 1, new Device(DeviceType.CUDA, 0)));
            Assert.Throws<InvalidOperationException>(() => TaskTraining.ModelDevice(run));
        }
    }

    [Fact]
    public void A_gang_is_still_refused_by_a_kind_that_does_not_train_as_one_and_without_collectives()
    {
        var run = Run(new RunIdentity(BlipPretrainTask.Kind, 0, 2, CPU));

        var notGang = Assert.Throws<NotSupportedException>(() => TaskTraining.ModelDevice(run));
        var noCollectives = Assert.Throws<InvalidOperationException>(() => TaskTraining.ModelDevice(run, trainsAsGang: true));

        Assert.Equal($"{BlipPretrainTask.Kind} runs on one worker; this run asks for a gang of 2; request workers: 1", notGang.Message);
        Assert.Equal("this run is rank 0 of a gang of 2, but the worker connected no collectives for it", noCollectives.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private TaskRun Run(RunIdentity identity) =>
        new LocalTaskRun(_root, new Dictionary<string, IReadOnlyList<string>>()).Ports(identity.Kind) with { Identity = identity };
}
