using VisionLanguage.Models.Blip;
using static TorchSharp.torch;

namespace VisionLanguage.Data.Synthetic;

/// <summary>
/// In-memory batches for the model-side bench and tests, not a dataset: each of a few classes has a fixed random image
/// pattern and a caption made of class-specific tokens, so captions are a function of the image and a model can learn
/// the pairing. Batch <c>i</c> is the same for the same seed, whenever it is asked for.
/// </summary>
public sealed class SyntheticPretrainBatches : IDisposable
{
    private const double NoiseScale = 0.3;

    private readonly Tensor _patterns; // (classes, 3, H, W)
    private readonly int _classes;
    private readonly int _textLength;
    private readonly BlipSpecialTokens _tokens;
    private readonly long[] _words;
    private readonly long _seed;

    public SyntheticPretrainBatches(BlipModelConfig config, BlipSpecialTokens tokens, int classes, int textLength, long seed)
    {
        var special = new HashSet<long> { tokens.PadId, tokens.ClsId, tokens.SepId, tokens.EncId, tokens.DecId, tokens.MaskId, tokens.UnkId };
        _words = [.. Enumerable.Range(0, config.Text.VocabSize).Select(id => (long)id).Where(id => !special.Contains(id)).Take(4096)];
        if (_words.Length < 3 || textLength < 5 || classes < 2)
        {
            throw new ArgumentException(
                $"synthetic captions need words besides the special ids (have {_words.Length}), at least 5 tokens and 2 classes");
        }

        _classes = classes;
        _textLength = textLength;
        _tokens = tokens;
        _seed = seed;
        using var generator = new Generator(unchecked((ulong)seed));
        _patterns = randn([classes, 3, config.Vision.ImageSize, config.Vision.ImageSize], device: CPU, generator: generator);
    }

    /// <summary>Batch number <paramref name="index"/> of <paramref name="size"/> pairs; the caller owns (and disposes) it.</summary>
    public BlipPretrainBatch Batch(int size, long index)
    {
        using var generator = new Generator(unchecked((ulong)(_seed * 1_000_003 + index)));
        long[] classes;
        using (var drawn = randint(_classes, [size], device: CPU, generator: generator))
        {
            classes = drawn.data<long>().ToArray();
        }

        if (classes.Distinct().Count() < 2)
        {
            // ITM needs two distinct images per batch; the first pair takes the next class.
            classes[0] = (classes[0] + 1) % _classes;
        }

        using var scope = NewDisposeScope();
        var images = _patterns.index_select(0, tensor(classes, device: CPU)) + NoiseScale * randn([size, 3, _patterns.shape[2], _patterns.shape[3]], device: CPU, generator: generator);
        var ids = new long[size * _textLength];
        var mask = new long[size * _textLength];
        for (var row = 0; row < size; row++)
        {
            var caption = Caption(classes[row]);
            for (var position = 0; position < _textLength; position++)
            {
                ids[row * _textLength + position] = position < caption.Length ? caption[position] : _tokens.PadId;
                mask[row * _textLength + position] = position < caption.Length ? 1 : 0;
            }
        }

        return new BlipPretrainBatch(
            images.MoveToOuterDisposeScope(),
            tensor(ids, size, _textLength, device: CPU).MoveToOuterDisposeScope(),
            tensor(mask, size, _textLength, device: CPU).MoveToOuterDisposeScope(),
            classes);
    }

    public void Dispose() => _patterns.Dispose();

    /// <summary>[CLS], two to four class-specific words, [SEP].</summary>
    private long[] Caption(long imageClass)
    {
        var words = 2 + (int)(imageClass % 3);
        words = Math.Min(words, _textLength - 2);
        var caption = new long[words + 2];
        caption[0] = _tokens.ClsId;
        for (var word = 0; word < words; word++)
        {
            caption[word + 1] = _words[(imageClass * 7 + word * 3) % _words.Length];
        }

        caption[^1] = _tokens.SepId;
        return caption;
    }
}
