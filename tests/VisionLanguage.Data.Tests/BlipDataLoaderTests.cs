using TorchSharp;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class BlipDataLoaderTests : IDisposable
{
    private const int ImageSize = 32;
    private const int MaxTextLength = 16;

    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task Background_prefetch_gives_the_same_batches_as_loading_synchronously()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Test, images: 30);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Test}/vocab.txt"));
        var loader = Loader(dataset, tokenizer, batchSize: 8);

        for (var epoch = 0; epoch < 2; epoch++)
        {
            var batch = 0;
            await foreach (var prefetched in loader.ReadEpochAsync(epoch))
            {
                using (prefetched)
                using (var loaded = loader.LoadBatch(epoch, batch))
                {
                    AssertSameBatch(loaded, prefetched);
                }

                batch++;
                Assert.Equal(new SamplerPosition(epoch, batch), loader.Position);
            }

            Assert.Equal(loader.BatchesPerEpoch, batch);
        }

        Assert.Equal(7, loader.BatchesPerEpoch); // 30 images x 2 captions, batches of 8, the tail dropped
        Assert.True(loader.WaitTime >= TimeSpan.Zero);
    }

    [Fact]
    public async Task A_batch_holds_normalised_images_padded_token_ids_masks_image_ids_and_captions()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Test, images: 12);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Test}/vocab.txt"));
        var loader = Loader(dataset, tokenizer, batchSize: 24, shuffle: false);
        var transform = ImageTransform.Train(ImageSize, 0.5, 1.0, horizontalFlip: true, seed: 4);

        using var batch = loader.LoadBatch(epoch: 1, batch: 0);

        Assert.Equal([24L, 3, ImageSize, ImageSize], batch.Images.shape);
        Assert.Equal(torch.float32, batch.Images.dtype);
        Assert.Equal([24L, MaxTextLength], batch.TextIds.shape);
        Assert.Equal(torch.int64, batch.TextIds.dtype);
        Assert.Equal([24L, MaxTextLength], batch.TextMask.shape);
        Assert.Equal(torch.int64, batch.TextMask.dtype);
        Assert.Equal(24, batch.Size);

        // Unshuffled: samples in file order, two captions per test image, so image ids 0, 0, 1, 1, ...
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (long)(i / 2)), batch.ImageIds);
        Assert.Equal(dataset.Samples.Select(sample => sample.Caption), batch.Captions);
        var ids = batch.TextIds.data<long>().ToArray();
        var mask = batch.TextMask.data<long>().ToArray();
        var pixels = batch.Images.data<float>().ToArray();
        for (var i = 0; i < 24; i++)
        {
            var row = ids.AsSpan(i * MaxTextLength, MaxTextLength).ToArray();
            var length = (int)mask.AsSpan(i * MaxTextLength, MaxTextLength).ToArray().Sum();
            Assert.Equal(tokenizer.Encode(batch.Captions[i], MaxTextLength), row[..length]);
            Assert.Equal(tokenizer.ClsId, row[0]);
            Assert.Equal(tokenizer.SepId, row[length - 1]);
            Assert.All(row[length..], id => Assert.Equal(tokenizer.PadId, id));
            Assert.Equal(Enumerable.Range(0, MaxTextLength).Select(t => t < length ? 1L : 0L), mask.AsSpan(i * MaxTextLength, MaxTextLength).ToArray());

            var expected = new float[transform.OutputLength];
            dataset.LoadImage(i / 2, transform, epoch: 1, sampleIndex: i, expected);
            Assert.Equal(expected, pixels.AsSpan(i * transform.OutputLength, transform.OutputLength).ToArray());
        }
    }

    [Fact]
    public async Task Reading_from_a_resumed_position_gives_the_remaining_batches_of_the_epoch()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Human, images: 40);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Human}/vocab.txt"));
        var loader = Loader(dataset, tokenizer, batchSize: 4);

        var straight = new List<string[]>();
        await foreach (var batch in loader.ReadEpochAsync(1))
        {
            using (batch)
            {
                straight.Add(batch.Captions);
            }
        }

        var resumedLoader = Loader(dataset, tokenizer, batchSize: 4);
        var position = resumedLoader.Sampler.Restore(loader.Sampler.CaptureState(new SamplerPosition(1, 6)));
        var resumed = new List<string[]>();
        await foreach (var batch in resumedLoader.ReadEpochAsync(position.Epoch, position.Batch))
        {
            using (batch)
            {
                resumed.Add(batch.Captions);
            }
        }

        Assert.Equal(10, straight.Count);
        Assert.Equal(straight.Skip(6), resumed);
        Assert.Equal(new SamplerPosition(1, 10), resumedLoader.Position);
    }

    [Fact]
    public async Task Leaving_an_epoch_early_stops_the_background_task()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Human, images: 40);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Human}/vocab.txt"));
        var loader = Loader(dataset, tokenizer, batchSize: 4);

        var read = 0;
        await foreach (var batch in loader.ReadEpochAsync(0))
        {
            batch.Dispose();
            if (++read == 2)
            {
                break;
            }
        }

        Assert.Equal(new SamplerPosition(0, 2), loader.Position);

        // The loader is reusable: a full epoch after the early exit reads every batch.
        var count = 0;
        await foreach (var batch in loader.ReadEpochAsync(1))
        {
            batch.Dispose();
            count++;
        }

        Assert.Equal(10, count);
    }

    [Fact]
    public async Task An_image_that_stops_decoding_after_opening_fails_the_epoch_naming_the_file()
    {
        await WriteSyntheticAsync(SyntheticDataset.Human, images: 8);
        using var dataset = BlipDataset.Open([BlipDatasetSource.Folder(_folder.PathOf(SyntheticDataset.Human))], BadDataPolicy.Fail, cacheBytes: 0);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Human}/vocab.txt"));
        var loader = Loader(dataset, tokenizer, batchSize: 8, shuffle: false);
        var broken = _folder.PathOf($"{SyntheticDataset.Human}/images/000003.png");
        File.WriteAllText(broken, "overwritten");

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync(0))
            {
                batch.Dispose();
            }
        });

        Assert.Equal(
            $"the image file '{broken}' cannot be decoded as an image (not a recognised image format; PNG, JPEG, WebP, GIF and BMP are) (it decoded when the dataset was opened)",
            error.Message);
    }

    [Fact]
    public async Task Opening_several_folders_concatenates_them_and_numbers_their_images_on()
    {
        using var human = await SyntheticFolderAsync(SyntheticDataset.Human, images: 5);
        await WriteSyntheticAsync(SyntheticDataset.Test, images: 3);

        using var both = BlipDataset.Open(
            [BlipDatasetSource.Folder(_folder.PathOf(SyntheticDataset.Human)), BlipDatasetSource.Folder(_folder.PathOf(SyntheticDataset.Test))], BadDataPolicy.Fail);

        Assert.Equal(8, both.ImageCount);
        Assert.Equal(11, both.Count);
        Assert.Equal([0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7], both.Samples.Select(sample => sample.ImageId));
        Assert.Equal(_folder.PathOf($"{SyntheticDataset.Test}/images/000000.png"), both.ImagePaths[5]);
    }

    [Fact]
    public async Task The_training_loader_takes_its_shapes_seed_and_augmentation_from_the_options()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Human, images: 20);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Human}/vocab.txt"));
        var options = new LoaderSettings { BatchSize = 4, ImageSize = 16, MaxTextLength = 12, Seed = 3, CropMinScale = 0.3, CropMaxScale = 0.6, HorizontalFlip = true };

        var loader = BlipDataLoader.ForTraining(dataset, tokenizer, options, rank: 1, worldSize: 2);
        var manual = new BlipDataLoader(
            dataset, tokenizer, new DistributedSampler(20, 4, seed: 3, rank: 1, worldSize: 2), ImageTransform.Train(16, 0.3, 0.6, horizontalFlip: true, seed: 3), 12);

        Assert.Equal(2, loader.BatchesPerEpoch);
        using var batch = loader.LoadBatch(1, 1);
        using var expected = manual.LoadBatch(1, 1);
        Assert.Equal([4L, 3, 16, 16], batch.Images.shape);
        Assert.Equal([4L, 12], batch.TextIds.shape);
        AssertSameBatch(expected, batch);
    }

    [Fact]
    public async Task The_evaluation_loader_reads_every_sample_in_order_with_whole_images()
    {
        using var dataset = await SyntheticFolderAsync(SyntheticDataset.Test, images: 5);
        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf($"{SyntheticDataset.Test}/vocab.txt"));
        var options = new LoaderSettings { BatchSize = 4, ImageSize = 16, MaxTextLength = 12, Seed = 0 };

        var loader = BlipDataLoader.ForEvaluation(dataset, tokenizer, options);
        var batches = new List<BlipBatch>();
        await foreach (var batch in loader.ReadEpochAsync(0))
        {
            batches.Add(batch);
        }

        Assert.Equal([4, 4, 2], batches.Select(batch => batch.Size));
        Assert.Equal(dataset.Samples.Select(sample => (long)sample.ImageId), batches.SelectMany(batch => batch.ImageIds));
        using var images = dataset.LoadImages([0, 1, 2, 3, 4], ImageTransform.Eval(16));
        Assert.Equal([5L, 3, 16, 16], images.shape);
        var perImage = 3 * 16 * 16;
        var first = batches[0].Images.data<float>().ToArray();
        var all = images.data<float>().ToArray();
        Assert.Equal(all[..perImage], first[..perImage]);                     // sample 0 is image 0
        Assert.Equal(all[perImage..(2 * perImage)], first[(2 * perImage)..(3 * perImage)]); // sample 2 is image 1
        batches.ForEach(batch => batch.Dispose());
    }

    public void Dispose() => _folder.Dispose();

    private static BlipDataLoader Loader(
        BlipDataset dataset, BlipTokenizer tokenizer, int batchSize, bool shuffle = true, int imageSize = ImageSize, int maxTextLength = MaxTextLength) =>
        new(dataset, tokenizer, new DistributedSampler(dataset.Count, batchSize, seed: 4, shuffle: shuffle),
            ImageTransform.Train(imageSize, 0.5, 1.0, horizontalFlip: true, seed: 4), maxTextLength, prefetch: 2, parallelism: 2);

    private static void AssertSameBatch(BlipBatch expected, BlipBatch actual)
    {
        Assert.Equal(expected.Images.shape, actual.Images.shape);
        Assert.Equal(expected.Images.data<float>().ToArray(), actual.Images.data<float>().ToArray());
        Assert.Equal(expected.TextIds.data<long>().ToArray(), actual.TextIds.data<long>().ToArray());
        Assert.Equal(expected.TextMask.data<long>().ToArray(), actual.TextMask.data<long>().ToArray());
        Assert.Equal(expected.ImageIds, actual.ImageIds);
        Assert.Equal(expected.Captions, actual.Captions);
    }

    /// <summary>Writes one synthetic split of <paramref name="images"/> images and opens it.</summary>
    private async Task<BlipDataset> SyntheticFolderAsync(string split, int images)
    {
        await WriteSyntheticAsync(split, images);
        return BlipDataset.OpenFolder(_folder.PathOf(split), BadDataPolicy.Fail);
    }

    private async Task WriteSyntheticAsync(string split, int images)
    {
        var dataset = SyntheticDataset.Plan(SyntheticDatasetTests.Options(seed: 21, images: 10, human: images, test: images));
        await dataset[split].WriteAsync(_folder.PathOf(split), dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
    }
}
