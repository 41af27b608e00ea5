using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>dataset.synthetic</c>: rendered scenes of shapes with captions of known noise.</summary>
public sealed class SyntheticDatasetOptions
{
    [Option("Images in the web split (noisy captions)."), Range(10, 10_000_000)]
    public int Images { get; set; } = 2000;

    [Option("Images in the human split (clean captions, small)."), Range(1, 1_000_000)]
    public int HumanImages { get; set; } = 200;

    [Option("Images in the test split (clean captions)."), Range(1, 1_000_000)]
    public int TestImages { get; set; } = 500;

    [Option("Share of web captions corrupted (unrelated, or one attribute wrong)."), Range(0.0, 1.0)]
    public double WebNoise { get; set; } = 0.4;

    [Option("Side of the square images, in pixels."), Range(16, 1024)]
    public int ImageSize { get; set; } = 64;

    [Option("Seed; the same seed writes the same dataset.")]
    public int Seed { get; set; }
}
