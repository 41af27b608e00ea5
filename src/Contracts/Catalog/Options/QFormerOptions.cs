using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>blip2.stage1</c>: the Q-Former's learnable queries against a frozen image encoder.</summary>
public class QFormerOptions : TrainingOptions
{
    [Option("Learnable query tokens."), Range(1, 256)]
    public int NumQueryTokens { get; set; } = 8;

    [Option("Layers that carry cross-attention into the image: every n-th."), Range(1, 16)]
    public int CrossAttentionFrequency { get; set; } = 2;

    [Option("Initial ITC temperature (learnable, clamped)."), Range(0.001, 0.5)]
    public double Temperature { get; set; } = 0.07;
}
