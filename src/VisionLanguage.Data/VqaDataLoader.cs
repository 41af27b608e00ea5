using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using TorchSharp;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Data;

/// <summary>
/// Turns a <see cref="VqaDataset"/> into the batches BLIP's VQA model trains on (<see cref="BlipVqaBatch"/>, LAVIS
/// <c>vqa_collater</c>), in the order of a <see cref="DistributedSampler"/>: images decoded and transformed in parallel
/// (a training crop is a function of the seed, the epoch and the sample), questions prepared as BLIP's
/// <c>pre_question</c> does and tokenized, and each question's distinct answers (in order of first appearance) with their
/// weights, count over the number of answers (<see cref="AnswerWeights"/>). Questions and answers are padded to the
/// batch's longest. Batches are prepared a few ahead on a background task and depend only on (sampler, transform, epoch,
/// batch), so a resumed run reads the same ones.
/// </summary>
public sealed partial class VqaDataLoader : IBatchSource<BlipVqaBatch>
{
    /// <summary>BLIP's <c>pre_question</c> keeps this many words.</summary>
    public const int MaxQuestionWords = 50;

    private readonly VqaDataset _dataset;
    private readonly BlipTokenizer _tokenizer;
    private readonly ImageTransform _transform;
    private readonly int _maxQuestionLength;
    private readonly int _maxAnswerLength;
    private readonly int _prefetch;
    private readonly int _parallelism;
    private readonly StrongBox<long> _waitTicks = new();

    /// <param name="dataset">The questions.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="sampler">The order, one rank's share.</param>
    /// <param name="transform">Training crops or evaluation resizes.</param>
    /// <param name="maxQuestionLength">Tokens per question at most, [CLS] and [SEP] included (LAVIS: 35).</param>
    /// <param name="maxAnswerLength">Tokens per answer at most, [CLS] (the model's [DEC]) and [SEP] included.</param>
    /// <param name="prefetch">Batches prepared ahead.</param>
    /// <param name="parallelism">Threads decoding one batch's images; half the cores by default.</param>
    public VqaDataLoader(
        VqaDataset dataset, BlipTokenizer tokenizer, DistributedSampler sampler, ImageTransform transform, int maxQuestionLength, int maxAnswerLength,
        int prefetch = BlipDataLoader.DefaultPrefetch, int? parallelism = null)
    {
        if (sampler.DatasetSize != dataset.Count)
        {
            throw new ArgumentException($"the sampler orders {sampler.DatasetSize} questions but the dataset has {dataset.Count}", nameof(sampler));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxQuestionLength, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAnswerLength, 3);
        _dataset = dataset;
        _tokenizer = tokenizer;
        Sampler = sampler;
        _transform = transform;
        _maxQuestionLength = maxQuestionLength;
        _maxAnswerLength = maxAnswerLength;
        _prefetch = prefetch;
        _parallelism = Math.Max(1, parallelism ?? Environment.ProcessorCount / 2);
    }

    public DistributedSampler Sampler { get; }

    public int BatchSize => Sampler.BatchSize;

    public long BatchesPerEpoch => Sampler.BatchesPerEpoch;

    /// <summary>Time the reader of <see cref="ReadEpochAsync"/> spent waiting for a batch, in total.</summary>
    public TimeSpan WaitTime => TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks.Value) * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency);

    /// <summary>
    /// The training loader for this rank: shuffled from the seed, the tail dropped, random-resized crops (scale and flip
    /// as <paramref name="settings"/> say), questions of at most <see cref="LoaderSettings.MaxTextLength"/> tokens.
    /// </summary>
    public static VqaDataLoader ForTraining(
        VqaDataset dataset, BlipTokenizer tokenizer, LoaderSettings settings, int maxAnswerLength, int rank = 0, int worldSize = 1,
        int prefetch = BlipDataLoader.DefaultPrefetch) =>
        new(
            dataset,
            tokenizer,
            new DistributedSampler(dataset.Count, settings.BatchSize, settings.Seed, rank, worldSize, shuffle: true, dropLast: true),
            ImageTransform.Train(settings.ImageSize, settings.CropMinScale, settings.CropMaxScale, settings.HorizontalFlip, settings.Seed),
            settings.MaxTextLength,
            maxAnswerLength,
            prefetch);

    /// <summary>
    /// A question as BLIP's <c>pre_question</c> prepares it: lower case, <c>. ! " ( ) * # : ; ~</c> removed, trailing
    /// spaces trimmed, at most <see cref="MaxQuestionWords"/> words. The question mark stays.
    /// </summary>
    public static string PrepareQuestion(string question)
    {
        var cleaned = QuestionPunctuation().Replace(question.ToLowerInvariant(), "").TrimEnd(' ');
        var words = cleaned.Split(' ');
        return words.Length > MaxQuestionWords ? string.Join(' ', words.Take(MaxQuestionWords)) : cleaned;
    }

    /// <summary>
    /// A question's distinct answers in order of first appearance, each weighted by its count over the number of answers
    /// (BLIP's VQA dataset: ten annotators give multiples of 0.1); the weights sum to 1.
    /// </summary>
    public static IReadOnlyList<(string Answer, float Weight)> AnswerWeights(IReadOnlyList<string> answers)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var answer in answers)
        {
            if (counts.TryGetValue(answer, out var count))
            {
                counts[answer] = count + 1;
            }
            else
            {
                counts[answer] = 1;
                order.Add(answer);
            }
        }

        return [.. order.Select(answer => (answer, (float)counts[answer] / answers.Count))];
    }

    /// <summary>
    /// <paramref name="texts"/> tokenized ([CLS] … [SEP], at most <paramref name="maxLength"/> tokens) and padded to the
    /// longest: int64 ids and mask (N, L) on the CPU; the caller disposes them.
    /// </summary>
    public static (torch.Tensor Ids, torch.Tensor Mask) EncodeLongest(BlipTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength)
    {
        var encoded = texts.Select(text => tokenizer.Encode(text, maxLength)).ToList();
        var length = encoded.Count == 0 ? 2 : encoded.Max(ids => ids.Length);
        var ids = new long[encoded.Count * length];
        var mask = new long[encoded.Count * length];
        for (var i = 0; i < encoded.Count; i++)
        {
            var row = ids.AsSpan(i * length, length);
            row.Fill(tokenizer.PadId);
            encoded[i].CopyTo(row);
            mask.AsSpan(i * length, encoded[i].Length).Fill(1);
        }

        long[] shape = [encoded.Count, length];
        return (torch.tensor(ids, shape, torch.int64, device: torch.CPU), torch.tensor(mask, shape, torch.int64, device: torch.CPU));
    }

    /// <summary>Builds batch <paramref name="batch"/> of <paramref name="epoch"/> on the calling thread.</summary>
    public BlipVqaBatch LoadBatch(int epoch, int batch)
    {
        var indices = Sampler.BatchIndices(epoch, batch).ToArray();
        var count = indices.Length;
        var length = _transform.OutputLength;
        var pixels = new float[count * length];
        var samples = _dataset.Samples;
        PrefetchedBatches.ForEach(count, _parallelism, i =>
            _dataset.LoadImage(samples[indices[i]].ImageId, _transform, epoch, indices[i], pixels.AsSpan(i * length, length)));

        var questions = new List<string>(count);
        var answers = new List<string>();
        var answerQuestion = new List<long>();
        var weights = new List<float>();
        for (var i = 0; i < count; i++)
        {
            var sample = samples[indices[i]];
            questions.Add(PrepareQuestion(sample.Question));
            foreach (var (answer, weight) in AnswerWeights(sample.Answers))
            {
                answers.Add(answer);
                answerQuestion.Add(i);
                weights.Add(weight);
            }
        }

        var size = _transform.ImageSize;
        var tensors = new List<torch.Tensor>(7);
        try
        {
            tensors.Add(torch.tensor(pixels, [count, 3, size, size], torch.float32, device: torch.CPU));
            var (questionIds, questionMask) = EncodeLongest(_tokenizer, questions, _maxQuestionLength);
            tensors.AddRange([questionIds, questionMask]);
            var (answerIds, answerMask) = EncodeLongest(_tokenizer, answers, _maxAnswerLength);
            tensors.AddRange([answerIds, answerMask]);
            tensors.Add(torch.tensor(answerQuestion.ToArray(), torch.int64, device: torch.CPU));
            tensors.Add(torch.tensor(weights.ToArray(), torch.float32, device: torch.CPU));
            return new BlipVqaBatch(tensors[0], tensors[1], tensors[2], tensors[3], tensors[4], tensors[5], tensors[6]);
        }
        catch
        {
            foreach (var tensor in tensors)
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    public IAsyncEnumerable<BlipVqaBatch> ReadEpochAsync(int epoch, long start, CancellationToken cancellationToken) =>
        PrefetchedBatches.ReadAsync(LoadBatch, epoch, checked((int)start), Sampler.BatchesPerEpoch, _prefetch, _waitTicks, cancellationToken);

    [GeneratedRegex("[.!\"()*#:;~]", RegexOptions.CultureInvariant)]
    private static partial Regex QuestionPunctuation();
}
