using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>The parameters an optimiser steps, for models whose modules share some (tied embeddings, one head in two places).</summary>
public static class TrainableParameters
{
    /// <summary>
    /// Every parameter of <paramref name="module"/> that requires a gradient, each once under the first name it has,
    /// in <c>named_parameters</c> order (the order optimiser state and checkpoints keep).
    /// </summary>
    public static IEnumerable<(string Name, Parameter Parameter)> Distinct(nn.Module module)
    {
        var seen = new HashSet<IntPtr>();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (parameter.requires_grad && seen.Add(parameter.Handle))
            {
                yield return (name, parameter);
            }
        }
    }
}
