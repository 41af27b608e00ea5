using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// The ITC feature queues (LAVIS <c>image_queue</c>, <c>text_queue</c>, <c>queue_ptr</c>): momentum features of earlier
/// batches, extra negatives for contrastive learning. The model registers the three tensors as buffers under those
/// names, so they are part of its checkpoints; this component writes them.
/// </summary>
/// <param name="image">Image features (embed_dim, queue_size).</param>
/// <param name="text">Text features (embed_dim, queue_size).</param>
/// <param name="pointer">Where the next features go, (1) int64.</param>
public sealed class FeatureQueues(Tensor image, Tensor text, Tensor pointer)
{
    public long Size => image.shape[1];

    public Tensor Image => image;

    public Tensor Text => text;

    public long Pointer => pointer.item<long>();

    /// <summary>Fresh queues of random unit features drawn from <paramref name="generator"/>, and a pointer at 0.</summary>
    public static (Tensor Image, Tensor Text, Tensor Pointer) Create(int embedDim, int queueSize, Generator generator)
    {
        using var noGrad = no_grad();
        var imageQueue = nn.functional.normalize(randn([embedDim, queueSize], device: CPU, generator: generator), dim: 0);
        var textQueue = nn.functional.normalize(randn([embedDim, queueSize], device: CPU, generator: generator), dim: 0);
        return (imageQueue, textQueue, zeros(1, dtype: int64, device: CPU));
    }

    /// <summary>Throws, naming the fix, unless a step's features over all replicas divide the queue, so it wraps around exactly.</summary>
    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
        var globalBatch = (long)batchPerReplica * replicas;
        if (globalBatch <= 0 || Size % globalBatch != 0)
        {
            var nearest = Math.Max(globalBatch, Size / Math.Max(globalBatch, 1) * globalBatch);
            throw new ArgumentException(
                $"the global batch of {globalBatch} pairs ({batchPerReplica} per replica × {replicas} replicas) must divide queue_size {Size}: " +
                $"every step enqueues the whole global batch; set queue_size to a multiple of {globalBatch} (e.g. {nearest}) or change batch_size");
        }
    }

    /// <summary>
    /// Writes a step's momentum features, gathered from every replica in rank order, at the pointer and advances it,
    /// wrapping around (LAVIS <c>_dequeue_and_enqueue</c>).
    /// </summary>
    public void Enqueue(Tensor imageFeats, Tensor textFeats)
    {
        var count = imageFeats.shape[0];
        if (Size % count != 0)
        {
            throw new InvalidOperationException(
                $"{count} features per step do not divide queue_size {Size}; the global batch must divide the queue");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var at = pointer.item<long>();
        image.narrow(1, at, count).copy_(imageFeats.t());
        text.narrow(1, at, count).copy_(textFeats.t());
        using var next = ((at + count) % Size).ToScalar();
        pointer.fill_(next);
    }
}
