using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>
/// One rank's view of the collectives data-parallel training needs. Every rank calls the same methods in the same
/// order (they are collective: each returns once all ranks have called it); results are identical on every rank and
/// combine the ranks' contributions in rank order, so they do not depend on timing.
/// </summary>
public interface IGradientReducer
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>Replaces each of <paramref name="gradients"/> (this rank's, in a fixed order) with the mean over the ranks.</summary>
    void AverageGradients(IReadOnlyList<Tensor> gradients);

    /// <summary>Every rank's <paramref name="tensor"/> concatenated along the first dimension, rank 0 first; a new tensor.</summary>
    Tensor AllGather(Tensor tensor);

    /// <summary>True on every rank when <paramref name="flag"/> is true on any.</summary>
    bool Any(bool flag);
}
