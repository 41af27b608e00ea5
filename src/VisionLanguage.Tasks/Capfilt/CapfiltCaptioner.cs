using VisionLanguage.Data;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// CapFilt's captioner: samples captions per web image as <c>decoding</c> says (CapFilt uses nucleus sampling with a
/// top-p, a repetition penalty and min/max lengths) after the prompt the captioner was finetuned with, which is
/// stripped from the result, as LAVIS's CapFilt does. Each
/// shard draws from its own generator, seeded from (seed, shard), so a shard's captions do not depend on the shards
/// before it and a resumed run draws what the interrupted one would have.
/// </summary>
public sealed class CapfiltCaptioner : IDisposable
{
    private readonly LoadedCaptioner _captioner;
    private readonly CaptionGenerator _generator;
    private readonly int _seed;

    public CapfiltCaptioner(string checkpointFolder, CaptionDecodingSettings decoding, int seed, Device? device = null)
    {
        _captioner = CaptionerCheckpoint.Load(checkpointFolder, device);
        _seed = seed;
        try
        {
            _generator = new CaptionGenerator(_captioner.Model, _captioner.Tokenizer, _captioner.Prompt, decoding);
        }
        catch
        {
            _captioner.Dispose();
            throw;
        }
    }

    /// <summary>The synthetic captions of each image in <paramref name="imageIds"/> (shard <paramref name="shard"/>), in order.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Sample(BlipDataset dataset, IReadOnlyList<int> imageIds, int shard)
    {
        using var images = dataset.LoadImages(imageIds, ImageTransform.Eval(_captioner.Model.Config.Vision.ImageSize));
        using var generator = new Generator(ShardSeed(_seed, shard));
        return _generator.Generate(images, generator);
    }

    public void Dispose() => _captioner.Dispose();

    /// <summary>A seed of its own for each shard (SplitMix64 of seed and shard), so neighbouring shards draw unrelated streams.</summary>
    private static ulong ShardSeed(int seed, int shard)
    {
        var z = unchecked(((ulong)(uint)seed << 32) + (ulong)(uint)shard + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
