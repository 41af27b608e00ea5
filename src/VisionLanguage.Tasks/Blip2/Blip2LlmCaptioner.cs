using System.Diagnostics;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// Captions through the frozen LLM (LAVIS <c>Blip2OPT.generate</c>, <c>Blip2T5.generate</c>): the soft visual prompt of
/// each image, then the text prompt ("a photo of"), then the search; or, as the baseline the acceptance compares with,
/// the same LLM and prompt with no soft prompt. Runs in eval mode under no_grad, restores the model's mode, and counts
/// the tokens it generates and the time it takes (<see cref="Throughput"/>).
/// </summary>
public sealed class Blip2LlmCaptioner(Blip2Stage2Model model, FrozenImageEncoder encoder, LlmTexts texts, string prompt, LlmDecodingSettings settings, bool visualPrompt = true)
    : IImageCaptioner
{
    private long _tokens;
    private double _seconds;

    /// <summary>Generated tokens per second so far (0 before any).</summary>
    public double Throughput => _seconds > 0 ? _tokens / _seconds : 0;

    public IReadOnlyList<IReadOnlyList<string>> Generate(Tensor images, Generator? generator = null)
    {
        var count = (int)images.shape[0];
        return [.. Answer(images, [.. Enumerable.Repeat(prompt, count)], generator).Select(caption => (IReadOnlyList<string>)[caption])];
    }

    /// <summary>The LLM's text after each image's soft prompt and its own text prompt.</summary>
    public IReadOnlyList<string> Answer(Tensor images, IReadOnlyList<string> prompts, Generator? generator = null)
    {
        var wasTraining = model.training;
        model.SetTraining(false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var started = Stopwatch.GetTimestamp();
            var soft = visualPrompt ? model.SoftPrompt(encoder.Encode(images)) : null;
            var (ids, mask) = texts.GenerationPrompts(prompts);
            var rows = model.Llm.Generate(soft, ids.to(model.Device), mask.to(model.Device), settings, texts.EndId, generator);
            _seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            _tokens += rows.Sum(row => row.Length);
            return [.. rows.Select(row => texts.Tokenizer.Decode(row).Trim())];
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }
}
