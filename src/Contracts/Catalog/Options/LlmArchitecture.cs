namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The language-model architectures <c>llm.pretrain</c> trains, the two <c>model.import</c> reads as LLMs.</summary>
public enum LlmArchitecture
{
    /// <summary>Decoder-only, OPT's architecture (HF <c>OPTForCausalLM</c>), with a byte-level BPE tokenizer.</summary>
    Opt,

    /// <summary>Encoder-decoder, T5 v1.1 / Flan-T5's architecture (HF <c>T5ForConditionalGeneration</c>), with a SentencePiece tokenizer.</summary>
    T5,
}
