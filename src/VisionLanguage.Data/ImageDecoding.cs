using SkiaSharp;

namespace VisionLanguage.Data;

/// <summary>Decodes image files (PNG, JPEG, WebP, GIF, BMP...) with SkiaSharp into immutable RGBA images.</summary>
public static class ImageDecoding
{
    /// <summary>
    /// The decoded image, or null and the problem (worded to follow "the image file '...'"): not an image, an
    /// unsupported format, or truncated data. The caller owns (disposes) the image.
    /// </summary>
    public static SKImage? TryDecode(string path, out string? problem)
    {
        using var codec = SKCodec.Create(path, out var opened);
        if (codec is null)
        {
            // No decoder recognised the data (Skia reports that as unimplemented), or it stopped short of the header.
            problem = opened is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? $"cannot be decoded as an image ({Describe(opened)})"
                : "cannot be decoded as an image (not a recognised image format; PNG, JPEG, WebP, GIF and BMP are)";
            return null;
        }

        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        if (info.Width <= 0 || info.Height <= 0)
        {
            problem = $"cannot be decoded as an image (it is {info.Width}x{info.Height} pixels)";
            return null;
        }

        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            problem = $"cannot be decoded as an image ({Describe(result)})";
            return null;
        }

        bitmap.SetImmutable();
        problem = null;
        return SKImage.FromBitmap(bitmap);
    }

    /// <summary>The decoded image; throws <see cref="InvalidDataException"/> naming the file when it does not decode.</summary>
    public static SKImage Decode(string path) =>
        TryDecode(path, out var problem) ?? throw new InvalidDataException($"the image file '{path}' {problem}");

    /// <summary>Null when <paramref name="path"/> decodes, else the problem; for <see cref="BlipAnnotationReader.Read"/>.</summary>
    public static string? Check(string path)
    {
        using var image = TryDecode(path, out var problem);
        return problem;
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => "the data is truncated or corrupt",
        SKCodecResult.Unimplemented => "it uses an image feature the decoder does not support",
        _ => $"decoder result {result}",
    };
}
