using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>
/// Dropout that draws its masks from a generator the model owns rather than libtorch's global one, so that replicas on
/// other threads cannot disturb it and a checkpoint can save and restore it: the basis of exact resume.
/// </summary>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _probability;
    private readonly Generator _generator;

    public SeededDropout(double probability, Generator generator)
        : base(nameof(SeededDropout))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(probability, 1.0);
        _probability = probability;
        _generator = generator;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (!training || _probability == 0.0)
        {
            return input;
        }

        using var scope = NewDisposeScope();
        using var probability = _probability.ToScalar();
        using var scale = (1.0 / (1.0 - _probability)).ToScalar();
        var keep = DeviceRandom.Rand(input.shape, input.dtype, input.device, _generator).ge_(probability);
        return input.mul(keep).mul_(scale).MoveToOuterDisposeScope();
    }
}
