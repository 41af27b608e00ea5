using VisionLanguage.Data;
using VisionLanguage.Models.Llm;

namespace VisionLanguage.Tasks.Llm;

/// <summary>
/// A text an LLM learns: a text alone, or a source with its target (a question and its answer), optionally after a
/// context it reads but does not learn (a caption of the image), placed where stage 2's soft prompt goes.
/// </summary>
public sealed record LlmTextItem(string Text, string? Target = null, string? Context = null);

/// <summary>
/// One rank's batches of texts for <c>llm.pretrain</c>: each epoch a permutation of the texts from the seed and the
/// epoch (<see cref="DistributedSampler"/>), each text made an example by <see cref="LlmTexts"/> with its prefix split
/// drawn from (seed, epoch, text), so that a resumed run reads the batches the interrupted one would have.
/// </summary>
public sealed class LlmTextBatches(IReadOnlyList<LlmTextItem> items, LlmTexts texts, DistributedSampler sampler) : IBatchSource<LlmTextBatch>
{
    public int BatchSize => sampler.BatchSize;

    public long BatchesPerEpoch => sampler.BatchesPerEpoch;

    public async IAsyncEnumerable<LlmTextBatch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var batch = (int)start; batch < sampler.BatchesPerEpoch; batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var examples = sampler.BatchIndices(epoch, batch).ToArray()
                .Select(index => texts.Example(items[index], DataRandom.For(sampler.Seed, epoch, index)))
                .ToList();
            yield return texts.Batch(examples);
            await Task.Yield();
        }
    }
}
