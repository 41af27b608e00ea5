using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip2.finetune.retrieval</c>: the stage-1 Q-Former of input <c>init</c> finetuned with ITC (every caption
/// of the same image a positive), ITM and ITG, its image encoder trained in fp32. The shapes come from the init and the
/// encoder it records; the temperature continues from the init. Defaults follow LAVIS's <c>retrieval_coco_ft.yaml</c>.
/// </summary>
public sealed class Blip2RetrievalFinetuneOptions : TrainingOptions
{
    [Option("Smoothing of ITC's same-image targets ((1 - s)·targets + s/N, as LAVIS) and of ITG's labels; ITM has none."), Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; } = 0.1;

    [Option("Weight of hard negatives in ITM's sampling: 1 (BLIP-2) draws every negative from ITC's similarities, 0 draws uniformly among the other images."), Range(0.0, 1.0)]
    public double ItmHardNegativeShare { get; set; } = 1.0;

    [Option("Candidates from ITC re-ranked by ITM in retrieval evaluation (LAVIS k_test)."), Range(1, 1024)]
    public int EvalTopK { get; set; } = 128;
}
