using VisionLanguage.Data;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>How the BLIP-2 retrieval finetune reads its inputs, trains and evaluates (options of <c>blip2.finetune.retrieval</c>).</summary>
public sealed record Blip2RetrievalFinetuneSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and caption length.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>Smoothing of ITC's same-image targets and of ITG (LAVIS: 0.1).</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>The weight of hard negatives in ITM's sampling: 1 (LAVIS) draws every negative from ITC's similarities.</summary>
    public double ItmHardNegativeShare { get; init; } = 1.0;

    /// <summary>Candidates per query that ITM re-ranks after ITC in retrieval evaluation (LAVIS <c>k_test</c>: 128).</summary>
    public int EvalTopK { get; init; } = 128;
}
