using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Tasks.Llm;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// A question and its answer as the frozen LLM learns them in the VQA finetune (the paper's Table 8 prompt, "Question: {}
/// Answer:"): decoder-only, <c>BOS prompt(question) answer end</c> with only the answer and the end token learned;
/// encoder-decoder, the prompted question to the encoder after the soft prompt and the answer as the target.
/// </summary>
public sealed class VqaLlmExamples(LlmTokenizer tokenizer, string prompt, string endToken, int maxLength)
{
    /// <summary>Pads examples into batches and makes generation prompts; its own prompt is unused.</summary>
    public LlmTexts Texts { get; } = new(tokenizer, "", endToken, prefixLm: false, maxLength);

    public string Prompt => prompt;

    /// <summary>The prompt with <paramref name="question"/> in place of {}.</summary>
    public string Prompted(string question) => VqaPrompts.Format(prompt, question);

    public LlmExample Example(string question, string answer) =>
        new LlmTexts(tokenizer, Prompted(question), endToken, prefixLm: false, maxLength).Example(answer, Data.DataRandom.For(0));
}
