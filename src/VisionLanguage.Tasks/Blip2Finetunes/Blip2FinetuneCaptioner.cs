using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// Captions, or answers, through a finetuned BLIP-2's frozen LLM (LAVIS <c>Blip2OPT.generate</c>, <c>predict_answers</c>):
/// each image's soft prompt from the model's own (trained) encoder, the Q-Former reading the question too when the
/// model does (VQA), then the text prompt, then the search. Runs in eval mode under no_grad and restores the model's mode.
/// </summary>
public sealed class Blip2FinetuneCaptioner(Blip2LlmFinetuneModel model, LlmTexts texts, string prompt, LlmDecodingSettings settings) : IImageCaptioner
{
    public IReadOnlyList<IReadOnlyList<string>> Generate(Tensor images, Generator? generator = null)
    {
        var count = (int)images.shape[0];
        return [.. Answer(images, [.. Enumerable.Repeat(prompt, count)], null, generator).Select(caption => (IReadOnlyList<string>)[caption])];
    }

    /// <summary>
    /// The LLM's text after each image's soft prompt and its own text prompt; <paramref name="questions"/> (ids and mask in
    /// the Q-Former's vocabulary) also reach the Q-Former when given.
    /// </summary>
    public IReadOnlyList<string> Answer(Tensor images, IReadOnlyList<string> prompts, (Tensor Ids, Tensor Mask)? questions, Generator? generator = null)
    {
        var wasTraining = model.training;
        model.SetTraining(false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var soft = model.SoftPrompt(images, questions?.Ids, questions?.Mask);
            var (ids, mask) = texts.GenerationPrompts(prompts);
            var rows = model.Llm.Generate(soft, ids.to(model.Device), mask.to(model.Device), settings, texts.EndId, generator);
            return [.. rows.Select(row => texts.Tokenizer.Decode(row).Trim())];
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }
}
