using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>What caption evaluation asks of a captioner: captions for a batch of images.</summary>
public interface IImageCaptioner
{
    /// <summary>Captions of <paramref name="images"/> (N, 3, H, W), one list per image; sampling draws from <paramref name="generator"/>.</summary>
    IReadOnlyList<IReadOnlyList<string>> Generate(Tensor images, Generator? generator = null);
}
