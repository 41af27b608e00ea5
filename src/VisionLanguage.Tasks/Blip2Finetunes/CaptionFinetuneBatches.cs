using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Llm;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// The caption finetune's batches: each image-caption batch of <paramref name="loader"/> (augmented images, which the
/// encoder now trains on) with its captions made the LLM's examples after the prompt by <paramref name="texts"/>.
/// </summary>
public sealed class CaptionFinetuneBatches(BlipDataLoader loader, LlmTexts texts) : IBatchSource<Blip2LlmFinetuneBatch>
{
    public int BatchSize => loader.Sampler.BatchSize;

    public long BatchesPerEpoch => loader.BatchesPerEpoch;

    public async IAsyncEnumerable<Blip2LlmFinetuneBatch> ReadEpochAsync(
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
                yield return new Blip2LlmFinetuneBatch(batch.Images.alias(), null, null, text.InputIds, text.InputMask, text.Labels);
            }

            index++;
        }
    }
}
