namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The frozen LLM's shape in BLIP-2 stage 2.</summary>
public enum LlmArchitecture
{
    /// <summary>Decoder-only (OPT-style): the soft prompt precedes the text; LM loss on all of it.</summary>
    Decoder,

    /// <summary>Encoder-decoder (Flan-T5-style): prefix LM, the prefix to the encoder and the suffix as target.</summary>
    EncoderDecoder,
}
