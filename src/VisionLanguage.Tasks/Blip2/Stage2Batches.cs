using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// Stage 2's batches: each image-caption batch of <paramref name="loader"/> with its images replaced by the frozen
/// encoder's tokens (<paramref name="features"/>: computed from the images, or looked up in the feature cache by image
/// id) and its captions made the LLM's examples by <paramref name="texts"/>, the prefix LM's splits drawn from
/// (seed, epoch, batch, sample) so that a resumed run reads the same batches.
/// </summary>
public sealed class Stage2Batches(BlipDataLoader loader, LlmTexts texts, Func<BlipBatch, Tensor> features) : IBatchSource<Blip2Stage2Batch>
{
    public int BatchSize => loader.Sampler.BatchSize;

    public long BatchesPerEpoch => loader.BatchesPerEpoch;

    public async IAsyncEnumerable<Blip2Stage2Batch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var index = start;
        await foreach (var batch in loader.ReadEpochAsync(epoch, (int)start, cancellationToken))
        {
            using (batch)
            {
                var examples = batch.Captions
                    .Select((caption, sample) => texts.Example(caption, DataRandom.For(loader.Sampler.Seed, epoch, index, sample)))
                    .ToList();
                var text = texts.Batch(examples);
                yield return new Blip2Stage2Batch(features(batch), text.InputIds, text.InputMask, text.Labels);
            }

            index++;
        }
    }
}
