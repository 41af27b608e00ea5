using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>llm.pretrain</c>: a small OPT- or T5-architecture language model and its tokenizer, trained from scratch
/// on the texts of the <c>train</c> datasets (their captions and question–answer texts), written as <c>model.import</c>
/// writes an imported LLM. Names follow HF's configs (<c>hidden_size</c>/<c>d_model</c> is <c>hidden_size</c> here for both).
/// </summary>
public sealed class LlmPretrainOptions : TrainingOptions
{
    [Option("opt (decoder-only, byte-level BPE) or t5 (encoder-decoder v1.1, SentencePiece).")]
    public LlmArchitecture Architecture { get; set; } = LlmArchitecture.Opt;

    [Option("Tokens the trained tokenizer has, its special tokens included (fewer when the texts hold fewer)."), Range(64, 65_536)]
    public int VocabSize { get; set; } = 1000;

    [Option("Model width (OPT hidden_size, T5 d_model)."), Range(8, 8192)]
    public int HiddenSize { get; set; } = 64;

    [Option("Layers (T5: in the encoder and in the decoder each)."), Range(1, 64)]
    public int Layers { get; set; } = 2;

    [Option("Attention heads; they divide hidden_size."), Range(1, 64)]
    public int Heads { get; set; } = 4;

    [Option("Feed-forward width (OPT ffn_dim, T5 d_ff)."), Range(8, 32_768)]
    public int FfnDim { get; set; } = 256;

    [Option("OPT: learned positions (max_position_embeddings). T5's relative positions have no limit."), Range(8, 8192)]
    public int MaxPositions { get; set; } = 128;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (HiddenSize % Heads != 0)
        {
            yield return new ValidationResult(
                $"heads {Heads} does not divide hidden_size {HiddenSize}; pick a width that is a multiple of the heads", [nameof(HiddenSize), nameof(Heads)]);
        }
    }
}
