using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of the downstream finetunes (VQA, NLVR2, and the BLIP-2 ones).</summary>
public sealed class DownstreamOptions : TrainingOptions
{
    [Option("Longest generated answer or caption, in tokens."), Range(1, 512)]
    public int MaxLength { get; set; } = 10;

    [Option("Beams when generating answers."), Range(1, 32)]
    public int BeamSize { get; set; } = 3;
}
