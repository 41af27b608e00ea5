using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>
/// AdamW with the arithmetic of PyTorch's single-tensor implementation (decoupled weight decay, bias-corrected
/// moments), written out here so that its moments are plain named tensors a checkpoint stores as safetensors and
/// restores exactly. Parameters split into two groups as LAVIS's <c>get_optimizer_params</c> does: no weight decay for
/// tensors of fewer than two dimensions and for names containing "bias", "ln" or "bn".
/// </summary>
public sealed class NamedAdamW : IDisposable
{
    private readonly List<Slot> _slots;

    public NamedAdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double weightDecay, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        WeightDecay = weightDecay;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        _slots = [.. parameters.Select(entry => new Slot(
            entry.Name,
            entry.Parameter,
            DecaysWeight(entry.Name, entry.Parameter) ? weightDecay : 0.0,
            zeros_like(entry.Parameter).DetachFromDisposeScope(),
            zeros_like(entry.Parameter).DetachFromDisposeScope()))];
    }

    public double WeightDecay { get; }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    /// <summary>Optimiser steps taken; the bias corrections use it.</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameters, in update order.</summary>
    public IReadOnlyList<Parameter> Parameters => [.. _slots.Select(slot => slot.Parameter)];

    /// <summary>Names of the parameters without weight decay.</summary>
    public IEnumerable<string> NamesWithoutDecay => _slots.Where(slot => slot.WeightDecay == 0.0).Select(slot => slot.Name);

    /// <summary>LAVIS's rule: <c>p.ndim &lt; 2 or "bias" in n or "ln" in n or "bn" in n</c> means no decay.</summary>
    public static bool DecaysWeight(string name, Tensor parameter) =>
        !(parameter.dim() < 2 || name.Contains("bias", StringComparison.Ordinal) || name.Contains("ln", StringComparison.Ordinal) || name.Contains("bn", StringComparison.Ordinal));

    /// <summary>One update at learning rate <paramref name="learningRate"/>; parameters without a gradient are skipped, as in PyTorch.</summary>
    public void Step(double learningRate)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        StepCount++;
        var biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);

        // The step's constants as native scalars held for the whole loop. A scalar made implicitly from a double for
        // one call is garbage as soon as its handle is passed, and TorchSharp does not keep it alive through the
        // native call: a collection then can free it mid-call (libtorch's "Unknown scalar type", seen once after
        // about 4,500 steps). Held here, each is freed only after the loop; add_ gets an explicit alpha for the same reason.
        using var decayed = (1 - learningRate * WeightDecay).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var gradShare1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var gradShare2 = (1 - Beta2).ToScalar();
        using var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount)).ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var negativeStepSize = (-learningRate / biasCorrection1).ToScalar();
        foreach (var slot in _slots)
        {
            var grad = slot.Parameter.grad;
            if (grad is null)
            {
                continue;
            }

            // Parameters without decay would be multiplied by exactly 1.
            if (slot.WeightDecay != 0.0)
            {
                slot.Parameter.mul_(decayed);
            }

            slot.ExpAvg.mul_(beta1).add_(grad, alpha: gradShare1);
            slot.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, value: gradShare2);
            var denominator = slot.ExpAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(epsilon, RootedScalars.One);
            slot.Parameter.addcdiv_(slot.ExpAvg, denominator, value: negativeStepSize);
        }
    }

    /// <summary>Drops every gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var slot in _slots)
        {
            slot.Parameter.grad = null;
        }
    }

    /// <summary>The moments as named tensors: <c>exp_avg.{parameter}</c> and <c>exp_avg_sq.{parameter}</c>.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateTensors() =>
        _slots.SelectMany(slot => new[] { ($"exp_avg.{slot.Name}", slot.ExpAvg), ($"exp_avg_sq.{slot.Name}", slot.ExpAvgSq) });

    /// <summary>Restores the moments and the step count; every parameter's moments must be present with its shape.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long stepCount, string source)
    {
        using var noGrad = no_grad();
        foreach (var (name, tensor) in StateTensors())
        {
            if (!tensors.TryGetValue(name, out var saved) || !saved.shape.SequenceEqual(tensor.shape))
            {
                throw new InvalidDataException(
                    $"{source} has no optimiser moment '{name}' of shape [{string.Join(", ", tensor.shape)}]; it was saved by another model or preset");
            }

            tensor.copy_(saved);
        }

        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.ExpAvg.Dispose();
            slot.ExpAvgSq.Dispose();
        }
    }

    private sealed record Slot(string Name, Parameter Parameter, double WeightDecay, Tensor ExpAvg, Tensor ExpAvgSq);
}
