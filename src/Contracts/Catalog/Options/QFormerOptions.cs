using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The Q-Former options <c>blip2.stage2</c> carries until its issue designs its options (stage 1 has <see cref="Blip2Stage1Options"/>).</summary>
public class QFormerOptions : TrainingOptions
{
    [Option("Learnable query tokens."), Range(1, 256)]
    public int NumQueryTokens { get; set; } = 8;

    [Option("Layers that carry cross-attention into the image: every n-th."), Range(1, 16)]
    public int CrossAttentionFrequency { get; set; } = 2;

    [Option("Initial ITC temperature (learnable, clamped)."), Range(0.001, 0.5)]
    public double Temperature { get; set; } = 0.07;
}
