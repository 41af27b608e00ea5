using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Data.Tests;

public sealed class Nlvr2DataTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Theory]
    [InlineData("in the left image there are two red circles", "in the right image there are two red circles")]
    [InlineData("The right image shows more than the left one", "The left image shows more than the right one")]
    [InlineData("left left right", "right right left")]
    [InlineData("a bright leftover on the left", "a bright leftover on the right")]
    [InlineData("both images have a star", "both images have a star")]
    public void Swapping_left_and_right_swaps_whole_words_only(string sentence, string swapped)
    {
        Assert.Equal(swapped, Nlvr2DataLoader.SwapLeftRight(sentence));
        Assert.Equal(sentence, Nlvr2DataLoader.SwapLeftRight(swapped));
    }

    [Fact]
    public async Task Swapping_the_images_of_a_pair_swaps_left_and_right_in_its_statement_and_nothing_else()
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 3, pairs: 2));
        var split = dataset[SyntheticDataset.Human];
        var folder = _folder.PathOf("human");
        await split.WriteAsync(folder, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        using var data = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([folder], "train"), BadDataPolicy.Fail);
        var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(folder, BlipVocabulary.FileName));
        var sampler = new DistributedSampler(data.Count, data.Count, seed: 11, shuffle: false, dropLast: true);
        var transform = ImageTransform.Eval(16);
        var swapping = new Nlvr2DataLoader(data, tokenizer, sampler, transform, maxTextLength: 16, swapImages: true);
        var plain = new Nlvr2DataLoader(data, tokenizer, sampler, transform, maxTextLength: 16, swapImages: false);

        using var scope = NewDisposeScope();
        using var swapped = swapping.LoadBatch(epoch: 0, batch: 0);
        using var original = plain.LoadBatch(epoch: 0, batch: 0);

        var swaps = Enumerable.Range(0, data.Count).Select(index => Nlvr2DataLoader.Swaps(11, 0, index)).ToList();
        Assert.Contains(true, swaps);
        Assert.Contains(false, swaps);
        for (var i = 0; i < data.Count; i++)
        {
            var sample = data.Samples[i];
            var sentence = Nlvr2DataLoader.PrepareSentence(sample.Sentence);
            var (left, right) = swaps[i] ? (original.RightImages[i], original.LeftImages[i]) : (original.LeftImages[i], original.RightImages[i]);
            Assert.True(swapped.LeftImages[i].equal(left).all().item<bool>(), $"pair {i}: left image");
            Assert.True(swapped.RightImages[i].equal(right).all().item<bool>(), $"pair {i}: right image");
            var expected = swaps[i] ? Nlvr2DataLoader.SwapLeftRight(sentence) : sentence;
            Assert.Equal(tokenizer.Encode(expected, 16), Row(swapped.TextIds[i], swapped.TextMask[i]));
            Assert.Equal(sample.Label ? 1L : 0L, swapped.Labels[i].item<long>());
            // Every synthetic statement names an image, so a swap always changes its words.
            Assert.Equal(swaps[i], expected != sentence);
        }

        // The draws are a function of (seed, epoch, example): another epoch swaps others, the same one the same.
        Assert.NotEqual(swaps, Enumerable.Range(0, data.Count).Select(index => Nlvr2DataLoader.Swaps(11, 1, index)).ToList());
        using var again = swapping.LoadBatch(epoch: 0, batch: 0);
        Assert.True(again.LeftImages.equal(swapped.LeftImages).all().item<bool>());
        Assert.True(again.TextIds.equal(swapped.TextIds).all().item<bool>());
    }

    [Theory]
    [InlineData(SyntheticDataset.Web)]
    [InlineData(SyntheticDataset.Test)]
    public async Task Every_statement_is_as_true_as_its_label_says_of_the_scenes_as_drawn_and_exactly_half_are_true(string splitName)
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 5, images: 120, test: 80, pairs: 3));
        var split = dataset[splitName];
        var directory = _folder.PathOf(splitName);
        await split.WriteAsync(directory, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        var drawn = DrawnScenes(directory);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "nlvr2", splitName + ".json")));
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(split.Items.Count * 3, entries.Count);
        Assert.Equal(entries.Count / 2, entries.Count(entry => entry.GetProperty("label").GetString() == "True"));
        var kinds = new Dictionary<string, int>();
        foreach (var entry in entries)
        {
            var images = entry.GetProperty("images").EnumerateArray().Select(image => image.GetString()!).ToList();
            var sentence = entry.GetProperty("sentence").GetString()!;
            var label = entry.GetProperty("label").GetString() == "True";
            var kind = entry.GetProperty("kind").GetString()!;
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            Assert.Equal(2, images.Count);
            Assert.NotEqual(images[0], images[1]);
            var match = Regex.Match(sentence, @"^in the (left|right) image there (is an?|are two|are three|are four) (\w+) (\w+)$");
            Assert.True(match.Success, sentence);
            var named = drawn[images[match.Groups[1].Value == "left" ? 0 : 1]];
            var other = drawn[images[match.Groups[1].Value == "left" ? 1 : 0]];
            var count = match.Groups[2].Value.StartsWith("is", StringComparison.Ordinal)
                ? 1
                : Array.IndexOf(["zero", "one", "two", "three", "four"], match.Groups[2].Value["are ".Length..]);
            var (colour, shape) = (match.Groups[3].Value, Singular(match.Groups[4].Value));
            Assert.Equal(count == 1, shape == match.Groups[4].Value);
            Assert.Equal(count == 1 && "aeiou".Contains(colour[0], StringComparison.Ordinal), match.Groups[2].Value == "is an");
            Assert.Equal(label, named.Count(drawnShape => drawnShape == (colour, shape)) == count);
            Assert.Equal(label, kind == "true");
            if (kind == "other_image")
            {
                Assert.Equal(count, other.Count(drawnShape => drawnShape == (colour, shape)));
            }

            if (kind == "wrong_colour")
            {
                Assert.NotEqual(count, other.Count(drawnShape => drawnShape == (colour, shape)));
            }
        }

        // A quarter of the false statements come from the other image, nearly all the rest are recoloured; a count one off is rare.
        var falses = entries.Count - kinds["true"];
        Assert.InRange(kinds["other_image"], 0.15 * falses, 0.35 * falses);
        Assert.InRange(kinds["wrong_colour"], 0.6 * falses, 0.85 * falses);
        Assert.True(kinds.GetValueOrDefault("wrong_count") < 0.05 * falses, string.Join(", ", kinds));
        Assert.Equal(entries.Count, split.Metrics()["nlvr2_examples"]);
        Assert.Equal(kinds["true"], split.Metrics()["nlvr2_true"]);
        Assert.Equal(kinds["wrong_colour"], split.Metrics()["nlvr2_wrong_colour"]);
    }

    [Fact]
    public async Task Nlvr2_is_off_by_default_and_turning_it_on_adds_a_file_per_split_and_words_and_changes_nothing_else()
    {
        var off = SyntheticDataset.Plan(Options(seed: 4, pairs: 0));
        var on = SyntheticDataset.Plan(Options(seed: 4, pairs: 2));
        var again = SyntheticDataset.Plan(Options(seed: 4, pairs: 2));
        await WriteAsync(off, "off");
        await WriteAsync(on, "on");
        await WriteAsync(again, "again");

        var offFiles = DataTestFolder.Hashes(_folder.PathOf("off"));
        var onFiles = DataTestFolder.Hashes(_folder.PathOf("on"));
        Assert.Equal(["human/nlvr2/human.json", "test/nlvr2/test.json", "web/nlvr2/web.json"], onFiles.Keys.Except(offFiles.Keys).Order(StringComparer.Ordinal));
        Assert.Equal(["human/vocab.txt", "test/vocab.txt", "web/vocab.txt"], offFiles.Keys.Where(file => offFiles[file] != onFiles[file]).Order(StringComparer.Ordinal));
        Assert.Equal(onFiles, DataTestFolder.Hashes(_folder.PathOf("again")));
        Assert.Empty(Nlvr2Dataset.Splits(_folder.PathOf("off/web")));

        // What a split writes reads back, and the vocabulary knows every word of it.
        var folder = _folder.PathOf("on/test");
        using var read = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([folder], "eval"), BadDataPolicy.Fail);
        var pairs = on[SyntheticDataset.Test].Nlvr2Pairs;
        Assert.Equal(
            pairs.Select(pair => (Path.Combine(folder, pair.LeftImage), Path.Combine(folder, pair.RightImage), pair.Sentence, pair.Label, pair.KindName)),
            read.Samples.Select(sample => (read.ImagePaths[sample.LeftImageId], read.ImagePaths[sample.RightImageId], sample.Sentence, sample.Label, sample.Kind!)));
        var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(folder, BlipVocabulary.FileName));
        Assert.All(read.Samples, sample => Assert.Equal(sample.Sentence.Split(' ').Length + 2, tokenizer.Encode(sample.Sentence, 64).Length));
    }

    [Fact]
    public void The_reader_takes_blips_format_and_names_each_bad_entry()
    {
        _folder.WritePng("img/a.png", 8, 8, SKColors.Red);
        _folder.WritePng("img/b.png", 8, 8, SKColors.Blue);
        var file = _folder.PathOf("nlvr_dev.json");
        File.WriteAllText(file, """
            [
              {"images": ["img/a.png", "img/b.png"], "sentence": "  the left image   is red ", "label": "True", "identifier": "dev-1"},
              {"images": ["img/b.png", "img/a.png"], "sentence": "the left image is red", "label": false},
              {"images": ["img/a.png"], "sentence": "one image", "label": "True"},
              {"images": ["img/a.png", "img/b.png"], "sentence": "", "label": "True"},
              {"images": ["img/a.png", "img/b.png"], "sentence": "what label", "label": "yes"},
              {"images": ["img/a.png", "img/missing.png"], "sentence": "missing image", "label": "False"},
              {"images": ["img/a.png", "../b.png"], "sentence": "outside", "label": "False"}
            ]
            """);

        var read = Nlvr2AnnotationReader.Read(file, _folder.Root, BadDataPolicy.Skip);

        Assert.Equal([("the left image is red", true, 0, 1), ("the left image is red", false, 1, 0)],
            read.Samples.Select(sample => (sample.Sentence, sample.Label, sample.LeftImageId, sample.RightImageId)));
        Assert.Equal(["img/a.png", "img/b.png"], read.ImageNames);
        Assert.Equal(5, read.Skipped.Count);
        Assert.Contains("exactly two", read.Skipped[0].ToString(), StringComparison.Ordinal);
        Assert.Contains("no sentence", read.Skipped[1].ToString(), StringComparison.Ordinal);
        Assert.Contains("\"True\" or \"False\"", read.Skipped[2].ToString(), StringComparison.Ordinal);
        Assert.Contains("does not exist", read.Skipped[3].ToString(), StringComparison.Ordinal);
        Assert.Contains("outside the image root", read.Skipped[4].ToString(), StringComparison.Ordinal);
        var error = Assert.Throws<BadDataException>(() => Nlvr2AnnotationReader.Read(file, _folder.Root, BadDataPolicy.Fail));
        Assert.Contains("exactly two", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();

    private static SyntheticDatasetSettings Options(int seed, int images = 60, int human = 12, int test = 10, int pairs = 2) =>
        SyntheticDatasetTests.Options(seed, images, human, test) with { Nlvr2Pairs = pairs };

    private static string Singular(string shape) => shape switch
    {
        "crosses" => "cross",
        "cross" => shape,
        _ => shape.EndsWith('s') ? shape[..^1] : shape,
    };

    private static long[] Row(Tensor ids, Tensor mask) => [.. ids.data<long>().ToArray().Take((int)mask.sum().item<long>())];

    private async Task WriteAsync(SyntheticDataset dataset, string name)
    {
        foreach (var split in dataset.Splits)
        {
            await split.WriteAsync(_folder.PathOf($"{name}/{split.Name}"), dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        }
    }

    /// <summary>Every drawn shape (objects and distractors) of each image, as (colour, shape) words, from scenes.json.</summary>
    private static Dictionary<string, List<(string Colour, string Shape)>> DrawnScenes(string directory)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, SyntheticSplit.ScenesFile)));
        return json.RootElement.EnumerateArray().ToDictionary(
            scene => scene.GetProperty("image").GetString()!,
            scene => scene.GetProperty("objects").EnumerateArray().Concat(scene.GetProperty("distractors").EnumerateArray())
                .Select(shape => (shape.GetProperty("colour").GetString()!, shape.GetProperty("shape").GetString()!))
                .ToList());
    }
}
