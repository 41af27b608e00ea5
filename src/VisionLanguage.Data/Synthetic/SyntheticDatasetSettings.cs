namespace VisionLanguage.Data.Synthetic;

/// <summary>The size, noise and seed of a <see cref="SyntheticDataset"/>, and its VQA questions.</summary>
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

    /// <summary>VQA questions asked about each image of every split (of different kinds, at most 4); 0 asks none.</summary>
    public int VqaQuestions { get; init; }

    /// <summary>Share of the annotators' answers (ten per question) that are near answers rather than the true one.</summary>
    public double VqaDisagreement { get; init; } = 0.2;

    /// <summary>NLVR2 examples per image of every split: the image and another of its split, with a statement, half of them true; 0 makes none.</summary>
    public int Nlvr2Pairs { get; init; }
}
