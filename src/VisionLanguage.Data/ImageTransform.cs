using SkiaSharp;

namespace VisionLanguage.Data;

/// <summary>The region of a source image a transform keeps, in source pixels, and whether it is mirrored.</summary>
public readonly record struct CropBox(int X, int Y, int Width, int Height, bool Flip);

/// <summary>
/// Turns a decoded image into the model's input: a crop (random-resized for training, the whole image for
/// evaluation), resized to a square of <see cref="ImageSize"/> with bicubic sampling, optionally mirrored, then
/// normalised with CLIP's mean and std into a float CHW array. A training crop is a pure function of (seed,
/// epoch, sample index), so loading in the background, in any order, gives the same pixels.
/// </summary>
public sealed class ImageTransform
{
    /// <summary>Per-channel (RGB) mean BLIP normalises with (CLIP's).</summary>
    public static IReadOnlyList<float> Mean { get; } = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>Per-channel (RGB) standard deviation BLIP normalises with (CLIP's).</summary>
    public static IReadOnlyList<float> Std { get; } = [0.26862954f, 0.26130258f, 0.27577711f];

    private const long CropStream = 0x43524f50; // "CROP": keeps crops independent of other streams of the same seed
    private const int CropAttempts = 10;
    private static readonly double MinLogRatio = Math.Log(3.0 / 4.0);
    private static readonly double MaxLogRatio = Math.Log(4.0 / 3.0);

    private readonly bool _random;
    private readonly double _minScale;
    private readonly double _maxScale;
    private readonly bool _flip;
    private readonly int _seed;

    private ImageTransform(int imageSize, bool random, double minScale, double maxScale, bool flip, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        if (random && (minScale <= 0 || minScale > maxScale || maxScale > 1))
        {
            throw new ArgumentException($"crop scale range [{minScale}, {maxScale}] must satisfy 0 < min <= max <= 1", nameof(minScale));
        }

        ImageSize = imageSize;
        _random = random;
        _minScale = minScale;
        _maxScale = maxScale;
        _flip = flip;
        _seed = seed;
    }

    /// <summary>The side of the square output, in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>Floats per image: 3 × <see cref="ImageSize"/>².</summary>
    public int OutputLength => 3 * ImageSize * ImageSize;

    /// <summary>
    /// Training: random-resized crop keeping an area share in [<paramref name="minScale"/>, <paramref name="maxScale"/>]
    /// with aspect ratio in [3/4, 4/3], then, with <paramref name="horizontalFlip"/>, a mirror with probability 1/2.
    /// </summary>
    public static ImageTransform Train(int imageSize, double minScale, double maxScale, bool horizontalFlip, int seed) =>
        new(imageSize, random: true, minScale, maxScale, horizontalFlip, seed);

    /// <summary>Evaluation: the whole image, resized.</summary>
    public static ImageTransform Eval(int imageSize) => new(imageSize, random: false, 1, 1, flip: false, seed: 0);

    /// <summary>
    /// The crop for sample <paramref name="sampleIndex"/> in <paramref name="epoch"/> of a
    /// <paramref name="width"/>×<paramref name="height"/> image (torchvision's RandomResizedCrop: ten tries, then a
    /// centre crop of the nearest allowed aspect ratio).
    /// </summary>
    public CropBox Sample(int width, int height, int epoch, int sampleIndex)
    {
        if (!_random)
        {
            return new CropBox(0, 0, width, height, Flip: false);
        }

        var random = DataRandom.For(_seed, CropStream, epoch, sampleIndex);
        var box = RandomResizedCrop(width, height, random);
        var flip = random.NextBool();
        return box with { Flip = _flip && flip };
    }

    /// <summary>
    /// Writes <paramref name="box"/> of <paramref name="image"/>, resized and normalised, into
    /// <paramref name="destination"/> as [3, <see cref="ImageSize"/>, <see cref="ImageSize"/>] (RGB planes).
    /// </summary>
    public void Apply(SKImage image, CropBox box, Span<float> destination)
    {
        if (destination.Length != OutputLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, not 3x{ImageSize}x{ImageSize}", nameof(destination));
        }

        var size = ImageSize;
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            // Transparent pixels come out black, as when a PNG's alpha is dropped.
            canvas.Clear(SKColors.Black);
            var shrink = Math.Max((double)box.Width / size, (double)box.Height / size);
            var sampling = shrink > 2
                ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
                : new SKSamplingOptions(SKCubicResampler.CatmullRom);
            // Crop first, then resize the crop on its own, so no pixel outside the box bleeds in at the edges.
            var whole = box.X == 0 && box.Y == 0 && box.Width == image.Width && box.Height == image.Height;
            using var crop = whole ? null : image.Subset(SKRectI.Create(box.X, box.Y, box.Width, box.Height));
            canvas.DrawImage(crop ?? image, SKRect.Create(0, 0, size, size), sampling);
        }

        Normalize(bitmap.GetPixelSpan(), size, box.Flip, destination);
    }

    /// <summary>RGBA bytes of a <paramref name="size"/>² image into normalised CHW floats, mirrored when asked.</summary>
    internal static void Normalize(ReadOnlySpan<byte> rgba, int size, bool flip, Span<float> destination)
    {
        var plane = size * size;
        Span<float> scale = [1f / (255f * Std[0]), 1f / (255f * Std[1]), 1f / (255f * Std[2])];
        Span<float> shift = [Mean[0] / Std[0], Mean[1] / Std[1], Mean[2] / Std[2]];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var source = 4 * ((y * size) + (flip ? size - 1 - x : x));
                var target = (y * size) + x;
                for (var channel = 0; channel < 3; channel++)
                {
                    destination[(channel * plane) + target] = (rgba[source + channel] * scale[channel]) - shift[channel];
                }
            }
        }
    }

    private CropBox RandomResizedCrop(int width, int height, DataRandom random)
    {
        var area = (double)width * height;
        for (var attempt = 0; attempt < CropAttempts; attempt++)
        {
            var targetArea = area * random.NextDouble(_minScale, _maxScale);
            var ratio = Math.Exp(random.NextDouble(MinLogRatio, MaxLogRatio));
            var w = (int)Math.Round(Math.Sqrt(targetArea * ratio));
            var h = (int)Math.Round(Math.Sqrt(targetArea / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                var y = random.Next(height - h + 1);
                var x = random.Next(width - w + 1);
                return new CropBox(x, y, w, h, Flip: false);
            }
        }

        // Fallback: the largest centred crop whose aspect ratio is in range.
        var inRatio = (double)width / height;
        int cropWidth = width, cropHeight = height;
        if (inRatio < 3.0 / 4.0)
        {
            cropHeight = Math.Max(1, (int)Math.Round(width / (3.0 / 4.0)));
        }
        else if (inRatio > 4.0 / 3.0)
        {
            cropWidth = Math.Max(1, (int)Math.Round(height * (4.0 / 3.0)));
        }

        return new CropBox((width - cropWidth) / 2, (height - cropHeight) / 2, cropWidth, cropHeight, Flip: false);
    }
}
