using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed;

/// <summary>
/// Gradients averaged across a gang in fixed-order buckets (PyTorch DDP's reducer without its hooks, which TorchSharp
/// lacks): parameters in reverse registration order, the order backward produces their gradients, packed into flat
/// buffers of at most <see cref="FirstBucketBytes"/> for the first and <see cref="BucketBytes"/> for the rest, split
/// where the dtype or device changes. Every rank builds the same plan from the same model, so the ranks' buffers line
/// up; each step copies the gradients in, all-reduces the buffers in bucket order, and copies the means back.
/// Averaging a flat copy gives the same bits as averaging each gradient: the sums are element-wise.
/// </summary>
public sealed class GradientBuckets
{
    /// <summary>DDP's <c>bucket_cap_mb</c> default, 25 MB.</summary>
    public const long BucketBytes = 25L * 1024 * 1024;

    /// <summary>DDP's <c>_DEFAULT_FIRST_BUCKET_BYTES</c>, 1 MB: the first gradients ready get reduced soonest.</summary>
    public const long FirstBucketBytes = 1L * 1024 * 1024;

    private readonly IReadOnlyList<IReadOnlyList<Parameter>> _buckets;

    public GradientBuckets(IReadOnlyList<Parameter> parameters, long firstBucketBytes = FirstBucketBytes, long bucketBytes = BucketBytes)
    {
        var buckets = new List<IReadOnlyList<Parameter>>();
        var current = new List<Parameter>();
        long bytes = 0;
        foreach (var parameter in parameters.Reverse())
        {
            var size = parameter.numel() * parameter.element_size();
            var cap = buckets.Count == 0 ? firstBucketBytes : bucketBytes;
            var fits = current.Count == 0
                || (bytes + size <= cap && current[0].dtype == parameter.dtype && SameDevice(current[0], parameter));
            if (!fits)
            {
                buckets.Add(current);
                current = [];
                bytes = 0;
            }

            current.Add(parameter);
            bytes += size;
        }

        if (current.Count > 0)
        {
            buckets.Add(current);
        }

        _buckets = buckets;
    }

    /// <summary>The parameters of each bucket, in the order they are reduced.</summary>
    public IReadOnlyList<IReadOnlyList<Parameter>> Buckets => _buckets;

    /// <summary>Replaces every parameter's gradient with its mean over the ranks of <paramref name="collectives"/>.</summary>
    public void AverageGradients(ICollectives collectives)
    {
        if (collectives.WorldSize == 1)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var flats = _buckets.Select(bucket => cat([.. bucket.Select(parameter => Gradient(parameter).reshape(-1))])).ToList();
        collectives.AllReduce(flats, ReduceOperation.Mean);
        for (var b = 0; b < _buckets.Count; b++)
        {
            long offset = 0;
            foreach (var parameter in _buckets[b])
            {
                var gradient = Gradient(parameter);
                gradient.copy_(flats[b].narrow(0, offset, gradient.numel()).view_as(gradient));
                offset += gradient.numel();
            }
        }
    }

    private static bool SameDevice(Tensor a, Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;

    private static Tensor Gradient(Parameter parameter) => parameter.grad ?? throw new InvalidOperationException(
        "a trainable parameter received no gradient; every objective must reach every trainable parameter");
}
