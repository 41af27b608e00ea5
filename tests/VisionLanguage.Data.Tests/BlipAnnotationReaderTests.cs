using SkiaSharp;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class BlipAnnotationReaderTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void String_and_list_captions_give_one_sample_per_caption_and_one_id_per_image()
    {
        _folder.WritePng("root/a.png", 8, 8, SKColors.Red);
        _folder.WritePng("root/sub/b.png", 8, 8, SKColors.Blue);
        var file = _folder.WriteAnnotations("ann.json",
            new { image = "a.png", caption = "  a red   square " },
            new { image = "sub/b.png", caption = new[] { "a blue square", "blue" } },
            new { image = "a.png", caption = "red again", image_id = "extra fields are ignored" });

        var annotations = BlipAnnotationReader.Read(file, _folder.PathOf("root"), BadDataPolicy.Fail, ImageDecoding.Check);

        Assert.Equal(["a.png", "sub/b.png"], annotations.ImageNames);
        Assert.Equal([_folder.PathOf("root/a.png"), _folder.PathOf("root/sub/b.png")], annotations.ImagePaths);
        Assert.Equal(
            [new BlipSample(0, "a red square"), new BlipSample(1, "a blue square"), new BlipSample(1, "blue"), new BlipSample(0, "red again")],
            annotations.Samples);
        Assert.Equal([(0, 0, false), (1, 1, true), (2, 0, false)], annotations.Entries.Select(e => (e.Entry, e.ImageId, e.IsList)));
        Assert.Empty(annotations.Skipped);
    }

    public static TheoryData<string, string> BadEntries => new()
    {
        // name, expected problem (after "ann.json: entry 1 (image '...'): ")
        { "missing image", "the image file '{root}/missing.png' does not exist" },
        { "undecodable image", "the image file '{root}/broken.png' cannot be decoded as an image (not a recognised image format; PNG, JPEG, WebP, GIF and BMP are)" },
        { "truncated image", "the image file '{root}/truncated.png' cannot be decoded as an image (the data is truncated or corrupt)" },
        { "empty caption", "the caption is empty" },
        { "blank caption in a list", "the caption is empty" },
        { "no caption", "has no caption (\"caption\" must be a string or a list of strings)" },
        { "no image", "has no image path (\"image\" must be a non-empty string)" },
        { "image outside the root", "the image path leads outside the image root '{root}'" },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void A_bad_entry_fails_the_read_with_a_message_naming_the_file_the_entry_and_the_image(string name, string problem)
    {
        var (file, root, entry, image, caption) = WriteWithBadEntry(name);

        var error = Assert.Throws<BadDataException>(() => BlipAnnotationReader.Read(file, root, BadDataPolicy.Fail, ImageDecoding.Check));

        var expected = problem.Replace("{root}", root, StringComparison.Ordinal);
        Assert.Equal(new BadDataEntry(file, entry, image, caption, expected), error.Entry);
        var where = image is null ? "" : caption is { } index ? $" (image '{image}', caption {index})" : $" (image '{image}')";
        Assert.Equal($"{file}: entry 1{where}: {expected}. Fix the entry or its image, or set on_bad_data: skip to skip such entries and count them.", error.Message);
    }

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void A_bad_entry_is_skipped_and_counted_and_the_rest_is_read(string name, string problem)
    {
        var (file, root, entry, image, caption) = WriteWithBadEntry(name);

        var annotations = BlipAnnotationReader.Read(file, root, BadDataPolicy.Skip, ImageDecoding.Check);

        Assert.Equal(new BadDataEntry(file, entry, image, caption, problem.Replace("{root}", root, StringComparison.Ordinal)), Assert.Single(annotations.Skipped));
        var kept = name == "blank caption in a list"
            ? new[] { new BlipSample(0, "good one"), new BlipSample(1, "the other caption"), new BlipSample(2, "good two") }
            : [new BlipSample(0, "good one"), new BlipSample(1, "good two")];
        Assert.Equal(kept, annotations.Samples);
    }

    [Fact]
    public void A_file_that_is_not_a_json_list_is_an_error_naming_the_file()
    {
        var notJson = _folder.WriteText("bad.json", "[{\"image\": ");
        var notList = _folder.WriteText("object.json", "{\"image\": \"a.png\"}");

        var parse = Assert.Throws<InvalidDataException>(() => BlipAnnotationReader.Read(notJson, _folder.Root, BadDataPolicy.Skip));
        var shape = Assert.Throws<InvalidDataException>(() => BlipAnnotationReader.Read(notList, _folder.Root, BadDataPolicy.Skip));

        Assert.StartsWith($"{notJson} is not valid JSON (line 1", parse.Message, StringComparison.Ordinal);
        Assert.Equal($"{notList}: the annotation file must be a JSON list of {{\"image\": ..., \"caption\": ...}} objects, not a JSON Object", shape.Message);
    }

    [Fact]
    public void A_missing_annotation_file_is_a_permanent_error_naming_it()
    {
        var missing = _folder.PathOf("nowhere.json");

        var error = Assert.Throws<InvalidDataException>(() => BlipAnnotationReader.Read(missing, _folder.Root, BadDataPolicy.Skip));

        Assert.Equal($"annotation file '{missing}' does not exist; give the path of a BLIP annotation JSON on the worker", error.Message);
        Assert.IsNotAssignableFrom<IOException>(error);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>Entries 0 and 2 are good; entry 1 is bad in the named way.</summary>
    private (string File, string Root, int Entry, string? Image, int? Caption) WriteWithBadEntry(string name)
    {
        var root = _folder.PathOf("root");
        _folder.WritePng("root/good1.png", 8, 8, SKColors.Red);
        _folder.WritePng("root/good2.png", 8, 8, SKColors.Green);
        _folder.WritePng("root/bad.png", 8, 8, SKColors.Blue);
        _folder.WriteText("root/broken.png", "this is not an image");
        var png = File.ReadAllBytes(_folder.PathOf("root/good1.png"));
        File.WriteAllBytes(_folder.PathOf("root/truncated.png"), png[..(png.Length / 2)]);
        _folder.WritePng("outside.png", 8, 8, SKColors.Red);

        object bad = name switch
        {
            "missing image" => new { image = "missing.png", caption = "x" },
            "undecodable image" => new { image = "broken.png", caption = "x" },
            "truncated image" => new { image = "truncated.png", caption = "x" },
            "empty caption" => new { image = "bad.png", caption = "   " },
            "blank caption in a list" => new { image = "bad.png", caption = new[] { "the other caption", "" } },
            "no caption" => new { image = "bad.png" },
            "no image" => new { caption = "x" },
            "image outside the root" => new { image = "../outside.png", caption = "x" },
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
        var file = _folder.WriteAnnotations("ann.json", new { image = "good1.png", caption = "good one" }, bad, new { image = "good2.png", caption = "good two" });
        var image = name switch
        {
            "no image" => null,
            "missing image" => "missing.png",
            "undecodable image" => "broken.png",
            "truncated image" => "truncated.png",
            "image outside the root" => "../outside.png",
            _ => "bad.png",
        };
        return (file, root, 1, image, name == "blank caption in a list" ? 1 : null);
    }
}
