using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// The VQA finetune's batches: the questions of <paramref name="dataset"/> in the order of <paramref name="sampler"/>, each
/// image through the training transform (its crop drawn from the epoch and the sample), the question in the Q-Former's
/// vocabulary (<paramref name="questions"/>, at most <paramref name="maxQuestionLength"/> tokens), and the answer most
/// of its annotators gave (the first of them on a tie): the answer VQA accuracy rewards, the same in every epoch.
/// InstructBLIP instead draws one annotator's answer by its share each time; measured here, that draw's noise moved
/// the training loss more from one epoch to the next than learning did (docs/decisions/blip2-finetunes.md).
/// </summary>
public sealed class VqaFinetuneBatches(
    VqaDataset dataset, DistributedSampler sampler, ImageTransform transform, int imageSize, BlipTokenizer questions, int maxQuestionLength, VqaLlmExamples examples)
    : IBatchSource<Blip2LlmFinetuneBatch>
{
    public int BatchSize => sampler.BatchSize;

    public long BatchesPerEpoch => sampler.BatchesPerEpoch;

    public async IAsyncEnumerable<Blip2LlmFinetuneBatch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var batch = (int)start; batch < sampler.BatchesPerEpoch; batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return Load(epoch, sampler.BatchIndices(epoch, batch).ToArray());
        }
    }

    private Blip2LlmFinetuneBatch Load(int epoch, int[] indices)
    {
        var pixels = 3 * imageSize * imageSize;
        var images = new float[indices.Length * pixels];
        var llm = new List<Llm.LlmExample>(indices.Length);
        var encoded = new long[indices.Length][];
        for (var row = 0; row < indices.Length; row++)
        {
            var sample = dataset.Samples[indices[row]];
            dataset.LoadImage(sample.ImageId, transform, epoch, indices[row], images.AsSpan(row * pixels, pixels));
            llm.Add(examples.Example(sample.Question, MostCommon(sample.Answers)));
            encoded[row] = questions.Encode(sample.Question, maxQuestionLength);
        }

        var (questionIds, questionMask) = Padded(encoded, questions.PadId);
        var text = examples.Texts.Batch(llm);
        return new Blip2LlmFinetuneBatch(
            tensor(images, [indices.Length, 3, imageSize, imageSize], device: CPU), questionIds, questionMask, text.InputIds, text.InputMask, text.Labels);
    }

    /// <summary>The answer most annotators gave; of several as common, the one given first.</summary>
    public static string MostCommon(IReadOnlyList<string> answers) =>
        answers.Select((answer, index) => (answer, index)).GroupBy(entry => entry.answer, StringComparer.Ordinal)
            .OrderByDescending(group => group.Count()).ThenBy(group => group.First().index).First().Key;

    /// <summary>Ids (N, T) padded on the right with <paramref name="padId"/> to the longest, and their mask; built on the CPU.</summary>
    public static (Tensor Ids, Tensor Mask) Padded(IReadOnlyList<long[]> rows, long padId)
    {
        var length = rows.Max(row => row.Length);
        var ids = new long[rows.Count, length];
        var mask = new long[rows.Count, length];
        for (var row = 0; row < rows.Count; row++)
        {
            for (var column = 0; column < length; column++)
            {
                var real = column < rows[row].Length;
                ids[row, column] = real ? rows[row][column] : padId;
                mask[row, column] = real ? 1 : 0;
            }
        }

        return (tensor(ids, device: CPU), tensor(mask, device: CPU));
    }
}
