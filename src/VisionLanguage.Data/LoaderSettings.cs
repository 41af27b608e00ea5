namespace VisionLanguage.Data;

/// <summary>How a <see cref="BlipDataLoader"/> batches, transforms and tokenizes: one rank's share of a run's data.</summary>
public sealed record LoaderSettings
{
    /// <summary>Samples per batch on each rank.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Seed of the shuffle and of the random crops.</summary>
    public required int Seed { get; init; }

    /// <summary>Side of the square images the model reads, in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Tokens per caption, [CLS]/[DEC] and [SEP] included; longer captions are cut.</summary>
    public required int MaxTextLength { get; init; }

    /// <summary>The smallest share of the image a training crop keeps (LAVIS random_resized_crop's scale).</summary>
    public double CropMinScale { get; init; } = 0.5;

    /// <summary>The largest share of the image a training crop keeps.</summary>
    public double CropMaxScale { get; init; } = 1.0;

    /// <summary>Whether training images are flipped left to right half of the time.</summary>
    public bool HorizontalFlip { get; init; }
}
