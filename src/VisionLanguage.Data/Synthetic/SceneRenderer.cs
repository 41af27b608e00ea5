using SkiaSharp;

namespace VisionLanguage.Data.Synthetic;

/// <summary>
/// Draws a <see cref="Scene"/> with SkiaSharp (antialiased, on the CPU raster backend, so the same scene gives the
/// same pixels every time) and encodes it as PNG. Every shape covers its own centre, so the colour there is the
/// shape's colour.
/// </summary>
public static class SceneRenderer
{
    /// <summary>The scene as a PNG of <paramref name="size"/>² pixels.</summary>
    public static byte[] RenderPng(Scene scene, int size)
    {
        using var bitmap = Render(scene, size);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The scene as a bitmap of <paramref name="size"/>² pixels; the caller disposes it.</summary>
    public static SKBitmap Render(Scene scene, int size)
    {
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        using (var shader = SKShader.CreateLinearGradient(
            new SKPoint(0, 0), new SKPoint(0, size), [Colour(scene.BackgroundTop), Colour(scene.BackgroundBottom)], SKShaderTileMode.Clamp))
        using (var background = new SKPaint { Shader = shader })
        {
            canvas.DrawRect(0, 0, size, size, background);
        }

        using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };

        // Distractors first: a described object is never covered.
        foreach (var shape in scene.Distractors.Concat(scene.Objects))
        {
            paint.Color = new SKColor(shape.R, shape.G, shape.B);
            canvas.Save();
            canvas.Translate((float)(shape.X * size), (float)(shape.Y * size));
            canvas.RotateDegrees((float)shape.Rotation);
            Draw(canvas, shape.Shape, (float)(shape.Radius * size), paint);
            canvas.Restore();
        }

        canvas.Flush();
        return bitmap;
    }

    private static void Draw(SKCanvas canvas, ShapeKind shape, float r, SKPaint paint)
    {
        switch (shape)
        {
            case ShapeKind.Circle:
                canvas.DrawCircle(0, 0, r, paint);
                return;
            case ShapeKind.Square:
                canvas.DrawRect(-0.85f * r, -0.85f * r, 1.7f * r, 1.7f * r, paint);
                return;
            default:
                using (var path = Outline(shape, r))
                {
                    canvas.DrawPath(path, paint);
                }

                return;
        }
    }

    private static SKPath Outline(ShapeKind shape, float r)
    {
        var path = new SKPath();
        switch (shape)
        {
            case ShapeKind.Triangle:
                // Equilateral, centroid at the origin.
                Polygon(path, 3, 1.1f * r, innerRadius: null);
                break;
            case ShapeKind.Star:
                Polygon(path, 5, 1.1f * r, innerRadius: 0.45f * r);
                break;
            case ShapeKind.Hexagon:
                Polygon(path, 6, r, innerRadius: null);
                break;
            case ShapeKind.Diamond:
                // Taller than wide, unlike a tilted square.
                path.MoveTo(0, -1.1f * r);
                path.LineTo(0.7f * r, 0);
                path.LineTo(0, 1.1f * r);
                path.LineTo(-0.7f * r, 0);
                path.Close();
                break;
            case ShapeKind.Cross:
                var w = 0.33f * r;
                path.AddPoly(
                [
                    new(-w, -r), new(w, -r), new(w, -w), new(r, -w), new(r, w), new(w, w),
                    new(w, r), new(-w, r), new(-w, w), new(-r, w), new(-r, -w), new(-w, -w),
                ]);
                break;
            case ShapeKind.Heart:
                path.MoveTo(0, r);
                path.CubicTo(-1.3f * r, 0.1f * r, -0.9f * r, -1.1f * r, 0, -0.45f * r);
                path.CubicTo(0.9f * r, -1.1f * r, 1.3f * r, 0.1f * r, 0, r);
                path.Close();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }

        return path;
    }

    /// <summary>A regular polygon with one corner pointing up, or a star when an inner radius is given.</summary>
    private static void Polygon(SKPath path, int corners, float radius, float? innerRadius)
    {
        var points = innerRadius is null ? corners : 2 * corners;
        for (var i = 0; i < points; i++)
        {
            var angle = (-Math.PI / 2) + (i * 2 * Math.PI / points);
            var distance = innerRadius is { } inner && i % 2 == 1 ? inner : radius;
            var point = new SKPoint((float)(distance * Math.Cos(angle)), (float)(distance * Math.Sin(angle)));
            if (i == 0)
            {
                path.MoveTo(point);
            }
            else
            {
                path.LineTo(point);
            }
        }

        path.Close();
    }

    private static SKColor Colour((byte R, byte G, byte B) rgb) => new(rgb.R, rgb.G, rgb.B);
}
