using System.Security.Cryptography;
using System.Text.Json;
using SkiaSharp;

namespace VisionLanguage.Testing;

/// <summary>A temp folder for one test, with helpers to write images and annotation files into it; removed on dispose.</summary>
internal sealed class DataTestFolder : IDisposable
{
    public DataTestFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "trainer-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Writes a solid-colour PNG at <paramref name="relative"/>, or one whose left and right halves differ.</summary>
    public string WritePng(string relative, int width, int height, SKColor left, SKColor? right = null)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var paint = new SKPaint { Color = left };
            canvas.DrawRect(0, 0, width, height, paint);
            if (right is { } color)
            {
                paint.Color = color;
                canvas.DrawRect(width / 2f, 0, width / 2f, height, paint);
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    public string WriteText(string relative, string text)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes <paramref name="entries"/> (anonymous objects) as a JSON annotation file.</summary>
    public string WriteAnnotations(string relative, params object[] entries) => WriteText(relative, JsonSerializer.Serialize(entries));

    /// <summary>SHA-256 of every file under <paramref name="directory"/>, by relative path.</summary>
    public static SortedDictionary<string, string> Hashes(string directory)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            hashes[Path.GetRelativePath(directory, file)] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        }

        return hashes;
    }

    public void Dispose()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
