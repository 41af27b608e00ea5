using VisionLanguage.Data;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>A captioner read from its checkpoint, ready for <see cref="CaptionGenerator"/>; disposing it frees the model.</summary>
/// <param name="Model">The model, in eval mode.</param>
/// <param name="Tokenizer">The tokenizer over the checkpoint's vocabulary.</param>
/// <param name="Prompt">The prompt the captioner was finetuned with.</param>
public sealed record LoadedCaptioner(BlipCaptionModel Model, BlipTokenizer Tokenizer, string Prompt) : IDisposable
{
    public void Dispose() => Model.Dispose();
}
