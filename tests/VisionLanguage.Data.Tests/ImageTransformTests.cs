using SkiaSharp;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class ImageTransformTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void Training_crops_stay_inside_the_image_within_the_scale_and_aspect_ranges()
    {
        var transform = ImageTransform.Train(32, minScale: 0.5, maxScale: 1.0, horizontalFlip: true, seed: 3);
        var flips = 0;
        for (var index = 0; index < 500; index++)
        {
            var box = transform.Sample(120, 80, epoch: 0, index);
            Assert.InRange(box.X, 0, 120 - box.Width);
            Assert.InRange(box.Y, 0, 80 - box.Height);
            Assert.InRange((double)box.Width * box.Height / (120 * 80), 0.49, 1.0);
            Assert.InRange((double)box.Width / box.Height, 0.74, 1.36);
            flips += box.Flip ? 1 : 0;
        }

        // A fair coin over 500 samples: far from 0 and from 500.
        Assert.InRange(flips, 200, 300);
    }

    [Fact]
    public void A_crop_is_a_function_of_seed_epoch_and_index()
    {
        var transform = ImageTransform.Train(32, 0.5, 1.0, horizontalFlip: true, seed: 3);
        var same = ImageTransform.Train(32, 0.5, 1.0, horizontalFlip: true, seed: 3);
        var otherSeed = ImageTransform.Train(32, 0.5, 1.0, horizontalFlip: true, seed: 4);

        var boxes = Enumerable.Range(0, 50).Select(i => transform.Sample(64, 64, 2, i)).ToList();

        Assert.Equal(boxes, Enumerable.Range(0, 50).Reverse().Select(i => same.Sample(64, 64, 2, i)).Reverse());
        Assert.NotEqual(boxes, Enumerable.Range(0, 50).Select(i => transform.Sample(64, 64, 3, i)));
        Assert.NotEqual(boxes, Enumerable.Range(0, 50).Select(i => otherSeed.Sample(64, 64, 2, i)));
        Assert.Equal(50, boxes.Distinct().Count());
    }

    [Fact]
    public void Without_horizontal_flip_no_crop_is_mirrored_and_evaluation_keeps_the_whole_image()
    {
        var transform = ImageTransform.Train(32, 0.5, 1.0, horizontalFlip: false, seed: 3);

        Assert.DoesNotContain(Enumerable.Range(0, 200), i => transform.Sample(64, 64, 0, i).Flip);
        Assert.Equal(new CropBox(0, 0, 100, 60, Flip: false), ImageTransform.Eval(32).Sample(100, 60, 5, 7));
    }

    [Fact]
    public void A_scale_range_of_one_always_keeps_the_whole_square_image()
    {
        var transform = ImageTransform.Train(16, 1.0, 1.0, horizontalFlip: false, seed: 0);

        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(new CropBox(0, 0, 64, 64, false), transform.Sample(64, 64, 0, i)));
    }

    [Fact]
    public void Normalisation_uses_clips_mean_and_std_per_channel_in_chw_order()
    {
        _folder.WritePng("solid.png", 10, 6, new SKColor(255, 0, 128));
        using var image = ImageDecoding.Decode(_folder.PathOf("solid.png"));
        var transform = ImageTransform.Eval(4);
        var pixels = new float[transform.OutputLength];

        transform.Apply(image, transform.Sample(image.Width, image.Height, 0, 0), pixels);

        float[] expected = [(1f - 0.48145466f) / 0.26862954f, (0f - 0.4578275f) / 0.26130258f, ((128f / 255f) - 0.40821073f) / 0.27577711f];
        Assert.Equal(48, pixels.Length);
        for (var channel = 0; channel < 3; channel++)
        {
            Assert.All(pixels.AsSpan(channel * 16, 16).ToArray(), value => Assert.Equal(expected[channel], value, 5));
        }
    }

    [Fact]
    public void A_flip_mirrors_the_output_left_to_right()
    {
        _folder.WritePng("halves.png", 8, 8, SKColors.Red, SKColors.Blue);
        using var image = ImageDecoding.Decode(_folder.PathOf("halves.png"));
        var transform = ImageTransform.Eval(8);
        var plain = new float[transform.OutputLength];
        var mirrored = new float[transform.OutputLength];

        transform.Apply(image, new CropBox(0, 0, 8, 8, Flip: false), plain);
        transform.Apply(image, new CropBox(0, 0, 8, 8, Flip: true), mirrored);

        var red = (1f - 0.48145466f) / 0.26862954f;
        Assert.Equal(red, plain[0], 5);        // red plane, top-left: red
        Assert.NotEqual(red, mirrored[0], 2);  // mirrored: blue there
        for (var channel = 0; channel < 3; channel++)
        {
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    Assert.Equal(plain[(channel * 64) + (y * 8) + x], mirrored[(channel * 64) + (y * 8) + 7 - x]);
                }
            }
        }
    }

    [Fact]
    public void A_crop_resizes_only_its_region()
    {
        // The right half of a red|blue image, resized to the whole output, is all blue.
        _folder.WritePng("halves.png", 16, 16, SKColors.Red, SKColors.Blue);
        using var image = ImageDecoding.Decode(_folder.PathOf("halves.png"));
        var transform = ImageTransform.Eval(4);
        var pixels = new float[transform.OutputLength];

        transform.Apply(image, new CropBox(8, 0, 8, 16, Flip: false), pixels);

        var blue = (1f - 0.40821073f) / 0.27577711f;
        Assert.All(pixels.AsSpan(32, 16).ToArray(), value => Assert.Equal(blue, value, 4));
    }

    public void Dispose() => _folder.Dispose();
}
