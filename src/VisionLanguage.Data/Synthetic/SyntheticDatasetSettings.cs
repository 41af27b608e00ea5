namespace VisionLanguage.Data.Synthetic;

/// <summary>The size, noise and seed of a <see cref="SyntheticDataset"/>.</summary>
public sealed record SyntheticDatasetSettings
{
    /// <summary>Images in the web split, whose captions carry the noise.</summary>
    public required int Images { get; init; }

    /// <summary>Images in the human split (clean captions, small).</summary>
    public required int HumanImages { get; init; }

    /// <summary>Images in the test split (clean captions, two per image).</summary>
    public required int TestImages { get; init; }

    /// <summary>Share of web captions corrupted (unrelated, or one attribute wrong).</summary>
    public required double WebNoise { get; init; }

    /// <summary>Side of the square images, in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary>The same seed writes the same dataset.</summary>
    public required int Seed { get; init; }
}
