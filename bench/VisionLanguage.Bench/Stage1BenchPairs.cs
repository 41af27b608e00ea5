using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// The bench's image-caption batches, made once and handed out as often as asked: random pixels, and captions of random
/// word ids of bert-base-uncased's vocabulary, [CLS] … [SEP] then [PAD] to a fixed length (LAVIS pads stage 1's
/// captions to <c>max_txt_len</c>), every pair its own image. Each batch handed out is a set of new handles on the same
/// tensors, which its receiver disposes.
/// </summary>
internal sealed class Stage1BenchPairs : IDisposable
{
    // bert-base-uncased's whole words start here (below are [unused] slots, single characters and the special tokens).
    private const long FirstWordId = 1996;

    // Words of a COCO-like caption, [CLS] and [SEP] included, from this to the padded length.
    private const int MinCaptionTokens = 12;

    private readonly Tensor[] _images;                      // each (B, 3, H, W)
    private readonly Tensor[] _textIds;                     // each (B, T)
    private readonly Tensor[] _textMasks;                   // each (B, T)
    private readonly long[][] _imageIds;

    /// <param name="batches">Batches to make.</param>
    /// <param name="batchSize">Pairs in each.</param>
    /// <param name="imageSize">The encoder's image side in pixels.</param>
    /// <param name="textLength">The padded caption length T.</param>
    /// <param name="tokens">[CLS], [SEP] and [PAD].</param>
    /// <param name="wordIdsEnd">Word ids are drawn below this (the first id that is not a word, e.g. [DEC]).</param>
    /// <param name="seed">The draws' seed.</param>
    public Stage1BenchPairs(int batches, int batchSize, int imageSize, int textLength, BlipSpecialTokens tokens, long wordIdsEnd, int seed)
    {
        if (textLength < MinCaptionTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(textLength), $"captions are padded to {textLength} tokens; use at least {MinCaptionTokens}");
        }

        using var generator = new Generator(unchecked((ulong)seed));
        var random = new Random(seed);
        _images = [.. Enumerable.Range(0, batches).Select(_ => randn([batchSize, 3, imageSize, imageSize], generator: generator))];
        _textIds = new Tensor[batches];
        _textMasks = new Tensor[batches];
        for (var batch = 0; batch < batches; batch++)
        {
            (_textIds[batch], _textMasks[batch]) = Captions(batchSize, textLength, tokens, wordIdsEnd, random);
        }

        _imageIds = [.. Enumerable.Range(0, batches).Select(batch => Enumerable.Range(batch * batchSize, batchSize).Select(id => (long)id).ToArray())];
        BatchSize = batchSize;
    }

    public int BatchSize { get; }

    public int Count => _images.Length;

    /// <summary>Batch <paramref name="index"/> with its images, as the frozen encoder's batches read it.</summary>
    public BlipPretrainBatch Pairs(long index) =>
        new(_images[index].alias(), _textIds[index].alias(), _textMasks[index].alias(), _imageIds[index]);

    /// <summary>Batch <paramref name="index"/> with the encoder's <paramref name="features"/> of its images in their place.</summary>
    public Blip2Stage1Batch WithFeatures(long index, Tensor features) =>
        new(features.alias(), _textIds[index].alias(), _textMasks[index].alias(), _imageIds[index]);

    /// <summary>The images of batch <paramref name="index"/> (B, 3, H, W), still owned by this.</summary>
    public Tensor Images(int index) => _images[index];

    public void Dispose()
    {
        foreach (var tensor in _images.Concat(_textIds).Concat(_textMasks))
        {
            tensor.Dispose();
        }
    }

    private static (Tensor Ids, Tensor Mask) Captions(int batchSize, int textLength, BlipSpecialTokens tokens, long wordIdsEnd, Random random)
    {
        var ids = new long[batchSize * textLength];
        var mask = new long[batchSize * textLength];
        for (var row = 0; row < batchSize; row++)
        {
            var length = random.Next(MinCaptionTokens, textLength + 1);
            for (var position = 0; position < textLength; position++)
            {
                ids[row * textLength + position] = position switch
                {
                    0 => tokens.ClsId,
                    _ when position == length - 1 => tokens.SepId,
                    _ when position < length => random.NextInt64(FirstWordId, wordIdsEnd),
                    _ => tokens.PadId,
                };
                mask[row * textLength + position] = position < length ? 1 : 0;
            }
        }

        return (tensor(ids, batchSize, textLength), tensor(mask, batchSize, textLength));
    }
}
