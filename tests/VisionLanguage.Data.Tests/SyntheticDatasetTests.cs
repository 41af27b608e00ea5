using System.Text.Json;
using SkiaSharp;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class SyntheticDatasetTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task The_same_seed_writes_the_same_bytes_and_another_seed_does_not()
    {
        var first = await WriteAllAsync(Options(seed: 7), "first");
        var again = await WriteAllAsync(Options(seed: 7), "again");
        var other = await WriteAllAsync(Options(seed: 8), "other");

        Assert.Equal(first, again);
        // Same file names (same counts), different content in every image and every annotation file.
        Assert.Equal(first.Keys, other.Keys);
        var differing = first.Keys.Where(file => first[file] != other[file]).ToList();
        Assert.Equal(first.Keys.Where(file => file.EndsWith(".png", StringComparison.Ordinal) || file.EndsWith(".json", StringComparison.Ordinal)), differing.Where(file => !file.EndsWith(".txt", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(1000, 0.4, 400)]
    [InlineData(10, 0.25, 3)]
    [InlineData(10, 0.0, 0)]
    [InlineData(10, 1.0, 10)]
    [InlineData(333, 0.1, 33)]
    public void The_web_split_corrupts_exactly_round_images_times_noise(int images, double noise, int expected)
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 3, images: images, noise: noise));

        var web = dataset[SyntheticDataset.Web];
        Assert.Equal(expected, SyntheticDataset.CorruptedCount(images, noise));
        Assert.Equal(expected, web.Corruptions.Count);
        Assert.Equal(expected, web.Items.Count(item => item.Corruption is not null));
        Assert.Empty(dataset[SyntheticDataset.Human].Corruptions);
        Assert.Empty(dataset[SyntheticDataset.Test].Corruptions);
    }

    [Fact]
    public async Task Corruption_json_records_which_captions_were_corrupted_and_how()
    {
        var options = Options(seed: 11, images: 400, noise: 0.5);
        var dataset = SyntheticDataset.Plan(options);
        var directory = _folder.PathOf("web");
        await dataset[SyntheticDataset.Web].WriteAsync(directory, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        var annotations = ReadAnnotations(directory);
        var scenes = ReadScenes(directory, dataset[SyntheticDataset.Web]);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, SyntheticSplit.CorruptionFile)));
        var entries = report.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(400, report.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(200, report.RootElement.GetProperty("corrupted").GetInt32());
        Assert.Equal(200, entries.Count);

        var corrupted = new HashSet<string>();
        var kinds = new Dictionary<string, int>();
        foreach (var entry in entries)
        {
            var image = entry.GetProperty("image").GetString()!;
            var kind = entry.GetProperty("kind").GetString()!;
            var caption = entry.GetProperty("caption").GetString()!;
            var original = entry.GetProperty("original").GetString()!;
            var truth = scenes[image];
            corrupted.Add(image);
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;

            // The annotation carries the corrupted caption; the recorded original is true, the caption is not.
            Assert.Equal(caption, Assert.Single(annotations[image]));
            Assert.True(ParsedCaption.Parse(original).States(truth), $"{image}: original '{original}'");
            Assert.False(ParsedCaption.Parse(caption).States(truth), $"{image}: corrupted '{caption}' is true");
            Assert.DoesNotContain(caption, SceneCaptioner.TrueCaptions(truth));

            var parsed = ParsedCaption.Parse(caption);
            var before = ParsedCaption.Parse(original);
            switch (kind)
            {
                case "unrelated":
                    var source = entry.GetProperty("source_image").GetString()!;
                    Assert.NotEqual(image, source);
                    Assert.True(ParsedCaption.Parse(caption).States(scenes[source]), $"{image}: '{caption}' is not {source}'s caption");
                    break;
                case "colour":
                    Assert.Equal(before.Shapes, parsed.Shapes);
                    Assert.Equal(1, before.Colours.Zip(parsed.Colours).Count(pair => pair.First != pair.Second));
                    Assert.Equal((before.Count, before.Placement, before.Relation), (parsed.Count, parsed.Placement, parsed.Relation));
                    break;
                case "shape":
                    Assert.Equal(before.Colours, parsed.Colours);
                    Assert.Equal(1, before.Shapes.Zip(parsed.Shapes).Count(pair => pair.First != pair.Second));
                    Assert.Equal((before.Count, before.Placement, before.Relation), (parsed.Count, parsed.Placement, parsed.Relation));
                    break;
                case "count":
                    Assert.Equal((before.Colours, before.Shapes), (parsed.Colours, parsed.Shapes), new SequencePairComparer());
                    Assert.NotEqual(before.Count, parsed.Count);
                    break;
                case "position":
                    Assert.Equal((before.Colours, before.Shapes), (parsed.Colours, parsed.Shapes), new SequencePairComparer());
                    Assert.NotEqual((before.Placement, before.Relation), (parsed.Placement, parsed.Relation));
                    break;
                default:
                    Assert.Fail($"unknown corruption kind {kind}");
                    break;
            }
        }

        // Every kind occurs; every caption not listed is true of its image.
        Assert.Equal(["colour", "count", "position", "shape", "unrelated"], kinds.Keys.Order());
        foreach (var (image, captions) in annotations.Where(pair => !corrupted.Contains(pair.Key)))
        {
            Assert.True(ParsedCaption.Parse(Assert.Single(captions)).States(scenes[image]), $"{image}: clean '{captions[0]}'");
        }
    }

    [Theory]
    [InlineData(SyntheticDataset.Human)]
    [InlineData(SyntheticDataset.Test)]
    public async Task Clean_captions_state_what_is_drawn(string splitName)
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 5, human: 150, test: 150));
        var split = dataset[splitName];
        var directory = _folder.PathOf(splitName);
        await split.WriteAsync(directory, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        var annotations = ReadAnnotations(directory);
        var scenes = ReadScenes(directory, split);
        Assert.Equal(150, annotations.Count);
        var layouts = new HashSet<SceneLayout>();
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, SyntheticSplit.ScenesFile)));
        foreach (var scene in json.RootElement.EnumerateArray())
        {
            var image = scene.GetProperty("image").GetString()!;
            var truth = scenes[image];
            layouts.Add(truth.Layout);
            Assert.Equal(splitName == SyntheticDataset.Test ? 2 : 1, annotations[image].Count);
            Assert.Equal(annotations[image].Count, annotations[image].Distinct().Count());
            foreach (var caption in annotations[image])
            {
                Assert.True(ParsedCaption.Parse(caption).States(truth), $"{image}: '{caption}' does not state {truth}");
            }

            // The pixel at each described object's centre has exactly the object's colour, nearest to the named colour.
            using var bitmap = SKBitmap.Decode(Path.Combine(directory, image));
            var objects = scene.GetProperty("objects").EnumerateArray().ToList();
            Assert.Equal(truth.Layout switch { SceneLayout.Single => 1, SceneLayout.Group => truth.Count, _ => 2 }, objects.Count);
            foreach (var shape in objects)
            {
                var pixel = bitmap.GetPixel((int)(shape.GetProperty("x").GetDouble() * 64), (int)(shape.GetProperty("y").GetDouble() * 64));
                Assert.Equal(shape.GetProperty("rgb").GetString(), $"#{pixel.Red:x2}{pixel.Green:x2}{pixel.Blue:x2}");
                Assert.Equal(Enum.Parse<ShapeColour>(shape.GetProperty("colour").GetString()!, ignoreCase: true), NearestColour(pixel));
            }

            AssertLayoutMatchesPositions(truth, objects);
        }

        Assert.Equal(3, layouts.Count);
    }

    [Fact]
    public async Task A_web_split_of_2000_images_writes_every_image()
    {
        var options = Options(seed: 1, images: 2000, human: 1, test: 1);
        var dataset = SyntheticDataset.Plan(options);
        await dataset[SyntheticDataset.Web].WriteAsync(_folder.PathOf("web"), dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        Assert.Equal(2000, Directory.GetFiles(_folder.PathOf("web/images")).Length);
    }

    [Fact]
    public void The_vocabulary_covers_every_caption_without_unknown_tokens()
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 2));
        var tokenizer = BlipTokenizer.FromTokens(dataset.Vocabulary);

        foreach (var caption in dataset.Splits.SelectMany(split => split.Items).SelectMany(item => item.Captions))
        {
            var ids = tokenizer.Encode(caption, 64);
            Assert.DoesNotContain(tokenizer.UnkId, ids);
            Assert.Equal(caption, tokenizer.Decode(ids));
        }
    }

    public void Dispose() => _folder.Dispose();

    internal static SyntheticDatasetSettings Options(int seed, int images = 60, int human = 12, int test = 10, double noise = 0.4) =>
        new() { Images = images, HumanImages = human, TestImages = test, WebNoise = noise, ImageSize = 64, Seed = seed };

    private async Task<SortedDictionary<string, string>> WriteAllAsync(SyntheticDatasetSettings options, string name)
    {
        var dataset = SyntheticDataset.Plan(options);
        foreach (var split in dataset.Splits)
        {
            await split.WriteAsync(_folder.PathOf($"{name}/{split.Name}"), dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        }

        return DataTestFolder.Hashes(_folder.PathOf(name));
    }

    private static Dictionary<string, List<string>> ReadAnnotations(string directory)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, BlipAnnotationReader.FileName)));
        return json.RootElement.EnumerateArray().ToDictionary(
            entry => entry.GetProperty("image").GetString()!,
            entry => entry.GetProperty("caption") is { ValueKind: JsonValueKind.Array } list
                ? list.EnumerateArray().Select(caption => caption.GetString()!).ToList()
                : [entry.GetProperty("caption").GetString()!]);
    }

    /// <summary>Each image's description, from scenes.json, checked against the plan it was written from.</summary>
    private static Dictionary<string, SceneDescription> ReadScenes(string directory, SyntheticSplit split)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, SyntheticSplit.ScenesFile)));
        var scenes = new Dictionary<string, SceneDescription>();
        foreach (var (scene, item) in json.RootElement.EnumerateArray().Zip(split.Items))
        {
            Assert.Equal(item.Image, scene.GetProperty("image").GetString());
            var layout = Enum.Parse<SceneLayout>(scene.GetProperty("layout").GetString()!, ignoreCase: true);
            Assert.Equal(item.Scene.Description.Layout, layout);
            Assert.Equal(item.Scene.Description.Count, scene.GetProperty("count").GetInt32());
            scenes[item.Image] = item.Scene.Description;
        }

        return scenes;
    }

    private static void AssertLayoutMatchesPositions(SceneDescription truth, List<JsonElement> objects)
    {
        var x = objects.Select(o => o.GetProperty("x").GetDouble()).ToList();
        var y = objects.Select(o => o.GetProperty("y").GetDouble()).ToList();
        switch (truth.Layout)
        {
            case SceneLayout.Single:
                var inPlace = truth.Placement switch
                {
                    Placement.Left => x[0] < 0.35,
                    Placement.Right => x[0] > 0.65,
                    Placement.Top => y[0] < 0.35,
                    Placement.Bottom => y[0] > 0.65,
                    _ => Math.Abs(x[0] - 0.5) < 0.1 && Math.Abs(y[0] - 0.5) < 0.1,
                };
                Assert.True(inPlace, $"{truth.Placement} object at ({x[0]}, {y[0]})");
                break;
            case SceneLayout.Pair:
                var related = truth.Relation switch
                {
                    Relation.LeftOf => x[0] < x[1] - 0.3,
                    Relation.RightOf => x[0] > x[1] + 0.3,
                    Relation.Above => y[0] < y[1] - 0.3,
                    _ => y[0] > y[1] + 0.3,
                };
                Assert.True(related, $"{truth.Relation}: ({x[0]}, {y[0]}) and ({x[1]}, {y[1]})");
                break;
        }
    }

    private static ShapeColour NearestColour(SKColor pixel) => Enum.GetValues<ShapeColour>().MinBy(colour =>
    {
        var (r, g, b) = SceneWords.Rgb(colour);
        return ((pixel.Red - r) * (pixel.Red - r)) + ((pixel.Green - g) * (pixel.Green - g)) + ((pixel.Blue - b) * (pixel.Blue - b));
    });

    private sealed class SequencePairComparer : IEqualityComparer<(IReadOnlyList<ShapeColour>, IReadOnlyList<ShapeKind>)>
    {
        public bool Equals((IReadOnlyList<ShapeColour>, IReadOnlyList<ShapeKind>) x, (IReadOnlyList<ShapeColour>, IReadOnlyList<ShapeKind>) y) =>
            x.Item1.SequenceEqual(y.Item1) && x.Item2.SequenceEqual(y.Item2);

        public int GetHashCode((IReadOnlyList<ShapeColour>, IReadOnlyList<ShapeKind>) obj) => obj.Item1.Count;
    }
}
