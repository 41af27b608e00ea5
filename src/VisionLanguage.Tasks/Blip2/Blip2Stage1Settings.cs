using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>How BLIP-2 stage 1 builds its Q-Former, reads the frozen encoder and its data, trains and evaluates.</summary>
public sealed record Blip2Stage1Settings
{
    /// <summary>The Q-Former's shape and objectives; its vocabulary and encoder width are set from the data and the encoder.</summary>
    public required Blip2Stage1Config Model { get; init; }

    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and caption length; its batch size and seed are the trainer's.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>The encoder block read, counted from its end: −2 (BLIP-2) drops the last block, −1 reads them all.</summary>
    public int VisionLayer { get; init; } = -2;

    /// <summary>Candidates per query that ITM re-ranks after ITC in retrieval evaluation (LAVIS <c>k_test</c>).</summary>
    public int EvalTopK { get; init; } = 128;

    /// <summary>Whether the frozen encoder's output is computed once per image and kept (<see cref="FrozenFeatureCache"/>) instead of on every batch.</summary>
    public bool CacheImageFeatures { get; init; }

    /// <summary>
    /// How the Q-Former captions the evaluation images through ITG: beam search of 3 as LAVIS's <c>generate</c>, with
    /// the caption stages' lengths (5 to 20 tokens; LAVIS's 10 to 30 are longer than these datasets' captions).
    /// </summary>
    public CaptionDecodingSettings Decoding { get; init; } = new();
}
