using TorchSharp;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Layers;

/// <summary>
/// The device rules a CPU can check (docs/decisions/device-placement.md): the frozen-precision rule, seeded draws that are
/// the very calls made before on the CPU, and batches and inputs that stay themselves where they already are.
/// </summary>
public sealed class DevicePlacementTests
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);

    [Fact]
    public void Frozen_parts_are_bfloat16_on_cuda_and_what_was_asked_on_the_cpu()
    {
        Assert.Equal(ScalarType.BFloat16, FrozenPrecision.For(Cuda));
        Assert.Equal(ScalarType.BFloat16, FrozenPrecision.For(Cuda, requestedOnCpu: ScalarType.Float32));
        Assert.Equal(ScalarType.Float32, FrozenPrecision.For(CPU));
        Assert.Equal(ScalarType.BFloat16, FrozenPrecision.For(CPU, requestedOnCpu: ScalarType.BFloat16));
    }

    [Fact]
    public void A_models_generator_is_on_the_cpu_with_the_state_a_plain_generator_of_its_seed_has()
    {
        using var created = DeviceRandom.Create(42);
        using var plain = new Generator(42);
        using var createdState = created.get_state();
        using var plainState = plain.get_state();

        Assert.Equal(DeviceType.CPU, created.device.type);
        Assert.Equal(plainState.bytes.ToArray(), createdState.bytes.ToArray());
    }

    [Fact]
    public void Seeded_draws_on_the_cpu_are_the_draws_of_the_plain_calls()
    {
        using var scope = NewDisposeScope();
        using var first = new Generator(7);
        using var second = new Generator(7);
        var weights = rand([4, 9], device: CPU, generator: new Generator(1)).softmax(1);

        Assert.Equal(
            rand([3, 5], dtype: float32, device: CPU, generator: first).data<float>().ToArray(),
            DeviceRandom.Rand([3, 5], float32, CPU, second).data<float>().ToArray());
        Assert.Equal(
            weights.multinomial(2, generator: first).data<long>().ToArray(),
            DeviceRandom.Multinomial(weights, 2, second).data<long>().ToArray());
        Assert.Equal(first.get_state().bytes.ToArray(), second.get_state().bytes.ToArray());
    }

    [Fact]
    public void A_tensor_already_on_the_device_is_taken_as_it_is()
    {
        using var values = zeros(3, device: CPU);

        Assert.True(TensorPlacement.IsOn(values, CPU));
        Assert.False(TensorPlacement.IsOn(values, Cuda));
        Assert.Same(values, TensorPlacement.On(values, CPU));
    }

    [Fact]
    public void Every_batch_on_its_device_moves_to_itself()
    {
        Tensor Ids() => zeros(2, 3, dtype: int64, device: CPU);
        using var blip = new BlipPretrainBatch(zeros(2, 3, 4, 4, device: CPU), Ids(), Ids(), [0, 1]);
        using var stage1 = new Blip2Stage1Batch(zeros(2, 5, 8, device: CPU), Ids(), Ids(), [0, 1]);
        using var stage2 = new Blip2Stage2Batch(zeros(2, 5, 8, device: CPU), Ids(), Ids(), Ids());
        using var text = new LlmTextBatch(Ids(), Ids(), Ids());

        Assert.Same(blip, blip.To(CPU));
        Assert.Same(stage1, stage1.To(CPU));
        Assert.Same(stage2, stage2.To(CPU));
        Assert.Same(text, text.To(CPU));
    }
}
