using VisionLanguage.Data;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Pretraining;

/// <summary>How a BLIP image-text task (pretraining, retrieval) trains, reads its data and evaluates.</summary>
public sealed record BlipImageTextSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and caption length; its batch size and seed are the trainer's.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>Candidates per query that ITM re-ranks after ITC in retrieval evaluation (BLIP's <c>k_test</c>).</summary>
    public int EvalTopK { get; init; } = 16;
}
