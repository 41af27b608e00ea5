namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The decoding options of a kind that generates captions (<c>blip.finetune.caption</c>, <c>evaluate</c>).</summary>
public interface ICaptionDecodingOptions
{
    DecodingMethod Decoding { get; }

    int BeamSize { get; }

    int MinLength { get; }

    int MaxLength { get; }

    double TopP { get; }

    double RepetitionPenalty { get; }
}
