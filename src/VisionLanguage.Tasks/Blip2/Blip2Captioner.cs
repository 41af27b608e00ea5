using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// Captions from a stage-1 Q-Former through ITG (LAVIS <c>Blip2Qformer.generate</c>): the frozen encoder's tokens, the
/// queries' pass over them once, then beam search from <c>[DEC]</c> with the queries' keys and values cached
/// (<see cref="QFormerDecoderSession"/>). Runs in eval mode under no_grad and restores the model's mode.
/// </summary>
public sealed class Blip2Captioner(Blip2Stage1Model model, FrozenImageEncoder encoder, BlipTokenizer tokenizer, CaptionDecodingSettings settings) : IImageCaptioner
{
    private readonly DecodingRules _rules = new(settings.MinLength, settings.MaxLength, tokenizer.SepId, tokenizer.PadId, settings.RepetitionPenalty);

    public IReadOnlyList<IReadOnlyList<string>> Generate(Tensor images, Generator? generator = null)
    {
        var wasTraining = model.training;
        model.SetTraining(false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (_, queryCache) = model.EncodeQueries(model.VisionNorm(encoder.Encode(images)));
            var beams = Math.Max(1, settings.BeamSize);
            using var session = new QFormerDecoderSession(model.QFormer, queryCache, beams);
            var prompt = full(images.shape[0], 1, model.Tokens.DecId, dtype: int64, device: model.Device);   // [DEC]
            var rows = BeamSearch.Run(session, prompt, beams, _rules);
            return [.. rows.Select(row => (IReadOnlyList<string>)[tokenizer.Decode(row.Skip(1)).Trim()])];
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }
}
