using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using TorchSharp;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Data;

/// <summary>
/// Turns an <see cref="Nlvr2Dataset"/> into <see cref="BlipNlvr2Batch"/>es in the order of a <see cref="DistributedSampler"/>:
/// both images of every pair decoded and transformed in parallel, the statement prepared as BLIP's <c>pre_caption</c>
/// does (<see cref="PrepareSentence"/>) and tokenized, padded to the batch's longest. In training, with the swap
/// augmentation on (BLIP <c>nlvr_dataset.py</c>), each pair's images trade places with probability 1/2, and when they do
/// the words "left" and "right" of its statement trade places too (<see cref="SwapLeftRight"/>), so the statement stays
/// as true as it was; each draw is a function of the seed, the epoch and the sample, so a resumed run reads the same batches.
/// </summary>
public sealed partial class Nlvr2DataLoader : IBatchSource<BlipNlvr2Batch>
{
    /// <summary>BLIP prepares NLVR2 statements with <c>pre_caption(sentence, 40)</c>.</summary>
    public const int MaxSentenceWords = 40;

    private const long SwapStream = 0x53574150; // "SWAP"

    private readonly Nlvr2Dataset _dataset;
    private readonly BlipTokenizer _tokenizer;
    private readonly ImageTransform _transform;
    private readonly int _maxTextLength;
    private readonly bool _swapImages;
    private readonly int _prefetch;
    private readonly int _parallelism;
    private readonly StrongBox<long> _waitTicks = new();

    /// <param name="dataset">The examples.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="sampler">The order, one rank's share.</param>
    /// <param name="transform">Training crops or evaluation resizes.</param>
    /// <param name="maxTextLength">Tokens per statement at most, [CLS] and [SEP] included.</param>
    /// <param name="swapImages">Whether the swap augmentation is on (training only).</param>
    /// <param name="prefetch">Batches prepared ahead.</param>
    /// <param name="parallelism">Threads decoding one batch's images; half the cores by default.</param>
    public Nlvr2DataLoader(
        Nlvr2Dataset dataset, BlipTokenizer tokenizer, DistributedSampler sampler, ImageTransform transform, int maxTextLength, bool swapImages,
        int prefetch = BlipDataLoader.DefaultPrefetch, int? parallelism = null)
    {
        if (sampler.DatasetSize != dataset.Count)
        {
            throw new ArgumentException($"the sampler orders {sampler.DatasetSize} examples but the dataset has {dataset.Count}", nameof(sampler));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxTextLength, 2);
        _dataset = dataset;
        _tokenizer = tokenizer;
        Sampler = sampler;
        _transform = transform;
        _maxTextLength = maxTextLength;
        _swapImages = swapImages;
        _prefetch = prefetch;
        _parallelism = Math.Max(1, parallelism ?? Environment.ProcessorCount / 2);
    }

    public DistributedSampler Sampler { get; }

    public int BatchSize => Sampler.BatchSize;

    public long BatchesPerEpoch => Sampler.BatchesPerEpoch;

    /// <summary>The training loader for this rank: shuffled, the tail dropped, random-resized crops, the swap augmentation as asked.</summary>
    public static Nlvr2DataLoader ForTraining(
        Nlvr2Dataset dataset, BlipTokenizer tokenizer, LoaderSettings settings, bool swapImages, int rank = 0, int worldSize = 1,
        int prefetch = BlipDataLoader.DefaultPrefetch) =>
        new(
            dataset,
            tokenizer,
            new DistributedSampler(dataset.Count, settings.BatchSize, settings.Seed, rank, worldSize, shuffle: true, dropLast: true),
            ImageTransform.Train(settings.ImageSize, settings.CropMinScale, settings.CropMaxScale, settings.HorizontalFlip, settings.Seed),
            settings.MaxTextLength,
            swapImages,
            prefetch);

    /// <summary>The evaluation loader: every example once, in file order, whole images resized, nothing swapped.</summary>
    public static Nlvr2DataLoader ForEvaluation(Nlvr2Dataset dataset, BlipTokenizer tokenizer, LoaderSettings settings) =>
        new(
            dataset,
            tokenizer,
            new DistributedSampler(dataset.Count, settings.BatchSize, settings.Seed, shuffle: false, dropLast: false),
            ImageTransform.Eval(settings.ImageSize),
            settings.MaxTextLength,
            swapImages: false);

    /// <summary>
    /// A statement as BLIP's <c>pre_caption</c> prepares it: lower case, <c>, . ' ! ? " ( ) * # : ; ~</c> made spaces,
    /// white space collapsed, at most <see cref="MaxSentenceWords"/> words.
    /// </summary>
    public static string PrepareSentence(string sentence)
    {
        var cleaned = SentencePunctuation().Replace(sentence.ToLowerInvariant(), " ");
        var words = cleaned.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Take(MaxSentenceWords));
    }

    /// <summary>
    /// <paramref name="sentence"/> with every word "left" made "right" and every "right" made "left", whole words only:
    /// what swapping a pair's images does to a statement about them. (BLIP replaces substrings, so "bright" becomes
    /// "bleft"; whole words keep other words as they are.)
    /// </summary>
    public static string SwapLeftRight(string sentence) =>
        LeftOrRight().Replace(sentence, match => match.Value switch
        {
            "left" => "right",
            "right" => "left",
            "Left" => "Right",
            "Right" => "Left",
            "LEFT" => "RIGHT",
            _ => "LEFT",
        });

    /// <summary>Whether the swap augmentation swaps example <paramref name="sampleIndex"/> in <paramref name="epoch"/> (seed <paramref name="seed"/>): a fair coin.</summary>
    public static bool Swaps(int seed, int epoch, int sampleIndex) => DataRandom.For(seed, SwapStream, epoch, sampleIndex).NextBool();

    /// <summary>
    /// Builds batch <paramref name="batch"/> of <paramref name="epoch"/> on the calling thread: the left and right images
    /// (swapped where the augmentation says), the prepared statements (left and right swapped with them) and the labels.
    /// </summary>
    public BlipNlvr2Batch LoadBatch(int epoch, int batch)
    {
        var indices = Sampler.BatchIndices(epoch, batch).ToArray();
        var count = indices.Length;
        var length = _transform.OutputLength;
        var left = new float[count * length];
        var right = new float[count * length];
        var samples = _dataset.Samples;
        var swapped = indices.Select(index => _swapImages && Swaps(Sampler.Seed, epoch, index)).ToArray();
        PrefetchedBatches.ForEach(2 * count, _parallelism, job =>
        {
            var (i, side) = (job / 2, job % 2);
            var sample = samples[indices[i]];
            var image = (side == 0) != swapped[i] ? sample.LeftImageId : sample.RightImageId;
            var destination = (side == 0 ? left : right).AsSpan(i * length, length);
            _dataset.LoadImage(image, _transform, epoch, (2 * indices[i]) + side, destination);
        });

        var sentences = indices.Select((index, i) =>
        {
            var sentence = PrepareSentence(samples[index].Sentence);
            return swapped[i] ? SwapLeftRight(sentence) : sentence;
        }).ToList();
        var labels = indices.Select(index => samples[index].Label ? 1L : 0L).ToArray();

        var size = _transform.ImageSize;
        var tensors = new List<torch.Tensor>(5);
        try
        {
            tensors.Add(torch.tensor(left, [count, 3, size, size], torch.float32, device: torch.CPU));
            tensors.Add(torch.tensor(right, [count, 3, size, size], torch.float32, device: torch.CPU));
            var (ids, mask) = VqaDataLoader.EncodeLongest(_tokenizer, sentences, _maxTextLength);
            tensors.AddRange([ids, mask]);
            tensors.Add(torch.tensor(labels, torch.int64, device: torch.CPU));
            return new BlipNlvr2Batch(tensors[0], tensors[1], tensors[2], tensors[3], tensors[4]);
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

    public IAsyncEnumerable<BlipNlvr2Batch> ReadEpochAsync(int epoch, long start, CancellationToken cancellationToken) =>
        PrefetchedBatches.ReadAsync(LoadBatch, epoch, checked((int)start), Sampler.BatchesPerEpoch, _prefetch, _waitTicks, cancellationToken);

    [GeneratedRegex("[,.'!?\"()*#:;~]", RegexOptions.CultureInvariant)]
    private static partial Regex SentencePunctuation();

    [GeneratedRegex(@"\b(?:left|right|Left|Right|LEFT|RIGHT)\b", RegexOptions.CultureInvariant)]
    private static partial Regex LeftOrRight();
}
