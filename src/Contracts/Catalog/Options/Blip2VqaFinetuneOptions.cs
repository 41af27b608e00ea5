using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip2.finetune.vqa</c>: the stage-2 model of input <c>init</c> finetuned to answer questions through its
/// frozen LLM, the question also read by the Q-Former (whose text side comes from input <c>qformer</c>), its image
/// encoder trained. Defaults follow the paper's Table 8 (prompt "Question: {} Answer:", beams 5) and its zero-shot
/// answering (at most 10 new tokens, length penalty -1).
/// </summary>
public sealed class Blip2VqaFinetuneOptions : TrainingOptions
{
    [Option("The LLM's prompt, {} standing for the question; the answer is learned after it (the paper: \"Question: {} Answer:\").")]
    public string Prompt { get; set; } = "Question: {} Answer:";

    [Option("Longest question the Q-Former reads, in its own tokens."), Range(2, 512)]
    public int MaxQuestionLength { get; set; } = 35;

    [Option("Appended to every answer of a decoder-only LLM as its end token, and what ends its generation (LAVIS: \"\\n\"). An encoder-decoder LLM ends with its own </s>.")]
    public string EndToken { get; set; } = "\n";

    [Option("The frozen LLM's dtype: fp32, or bf16 as LAVIS holds Flan-T5. The image encoder trains in fp32 whatever this says.")]
    public LlmPrecision LlmDtype { get; set; } = LlmPrecision.Fp32;

    [Option("Beams of evaluation's answers (1 is greedy)."), Range(1, 16)]
    public int NumBeams { get; set; } = 5;

    [Option("Evaluation answers: at most this many new tokens."), Range(1, 64)]
    public int MaxNewTokens { get; set; } = 10;

    [Option("Evaluation answers: beam length penalty (the paper: -1, favouring short answers)."), Range(-5.0, 5.0)]
    public double LengthPenalty { get; set; } = -1.0;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (!Prompt.Contains("{}", StringComparison.Ordinal))
        {
            yield return new ValidationResult(
                $"prompt \"{Prompt}\" has no {{}} for the question; write it where the question goes, e.g. \"Question: {{}} Answer:\"",
                [nameof(Prompt)]);
        }

        if (EndToken.Length == 0)
        {
            yield return new ValidationResult(
                "end_token is empty; a decoder-only LLM needs a token that ends each answer, e.g. \"\\n\" (LAVIS)", [nameof(EndToken)]);
        }
    }
}
