using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of the BLIP-2 downstream finetunes (BLIP's VQA and NLVR2 have theirs: <see cref="BlipVqaOptions"/>, <see cref="BlipNlvr2Options"/>).</summary>
public sealed class DownstreamOptions : TrainingOptions
{
    [Option("Longest generated answer or caption, in tokens."), Range(1, 512)]
    public int MaxLength { get; set; } = 10;

    [Option("Beams when generating answers."), Range(1, 32)]
    public int BeamSize { get; set; } = 3;
}
