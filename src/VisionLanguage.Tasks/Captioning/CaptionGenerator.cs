using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>
/// Writes captions for images with a BLIP model's image-grounded decoder (LAVIS <c>blip_caption.generate</c>): the
/// images are encoded once, the decoder starts from [DEC] and the prompt, and beam search, greedy search or nucleus
/// sampling (several samples per image, from the caller's seeded generator) continues it; the returned captions are the
/// decoded tokens after the prompt. Batched over images; runs under no_grad in eval mode and restores the model's mode.
/// </summary>
public sealed class CaptionGenerator : IImageCaptioner
{
    private readonly IBlipCaptioning _model;
    private readonly BlipTokenizer _tokenizer;
    private readonly DecodingRules _rules;

    /// <summary>Checks the prompt against the vocabulary and the lengths against the prompt; throws, naming the fix.</summary>
    public CaptionGenerator(IBlipCaptioning model, BlipTokenizer tokenizer, string prompt, CaptionDecodingSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BeamSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SamplesPerImage, 1);
        _model = model;
        _tokenizer = tokenizer;
        Settings = settings;
        Prompt = CaptionPrompt.Tokenize(tokenizer, prompt);
        _rules = new DecodingRules(settings.MinLength, settings.MaxLength, tokenizer.SepId, tokenizer.PadId, settings.RepetitionPenalty);
        _rules.CheckPrompt(Prompt.Length);
        var positions = model.Config.Text.MaxPositionEmbeddings;
        if (settings.MaxLength > positions)
        {
            throw new ArgumentException($"max_length {settings.MaxLength} exceeds the decoder's {positions} positions; lower it");
        }
    }

    public CaptionDecodingSettings Settings { get; }

    public CaptionPrompt Prompt { get; }

    /// <summary>
    /// Captions of <paramref name="images"/> (N, 3, H, W): one per image, or <see cref="CaptionDecodingSettings.SamplesPerImage"/>
    /// with nucleus sampling, which draws from <paramref name="generator"/> (required then).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Generate(Tensor images, Generator? generator = null)
    {
        var rows = GenerateIds(images, generator);
        var perImage = Settings.Search == CaptionSearch.Nucleus ? Settings.SamplesPerImage : 1;
        return [.. rows.Chunk(perImage).Select(group => (IReadOnlyList<string>)[.. group.Select(Caption)])];
    }

    /// <summary>
    /// The decoded sequences, image-major (an image's samples together): [DEC], the prompt, the caption and [SEP]
    /// unless max_length came first.
    /// </summary>
    public long[][] GenerateIds(Tensor images, Generator? generator = null)
    {
        var wasTraining = _model.IsTraining;
        _model.SetTraining(false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var imageEmbeds = _model.ImageEmbeddings(images);                       // (N, 1 + P, Dv)
            var count = images.shape[0];
            var search = Settings.Search == CaptionSearch.Beam && Settings.BeamSize == 1 ? CaptionSearch.Greedy : Settings.Search;
            var rowsPerImage = search switch
            {
                CaptionSearch.Beam => Settings.BeamSize,
                CaptionSearch.Nucleus => Settings.SamplesPerImage,
                _ => 1,
            };
            using var session = Open(imageEmbeds, rowsPerImage);
            var prompt = tensor(Prompt.Ids.ToArray(), device: imageEmbeds.device).unsqueeze(0);  // (1, P), where the model computes
            return search switch
            {
                CaptionSearch.Beam => BeamSearch.Run(session, prompt.expand(count, -1), Settings.BeamSize, _rules),
                CaptionSearch.Nucleus => NucleusSampling.Run(
                    session, prompt.expand(count * rowsPerImage, -1), _rules, Settings.TopP, Settings.TopK,
                    generator ?? throw new ArgumentNullException(nameof(generator), "nucleus sampling needs a seeded generator")),
                _ => GreedySearch.Run(session, prompt.expand(count, -1), _rules),
            };
        }
        finally
        {
            _model.SetTraining(wasTraining);
        }
    }

    /// <summary>The caption of a decoded sequence: the tokens after the prompt, special tokens left out.</summary>
    public string Caption(long[] sequence) => _tokenizer.Decode(sequence.Skip(Prompt.Length)).Trim();

    private IDecoderSession Open(Tensor imageEmbeds, int rowsPerImage) => Settings.UseCache
        ? new CachedDecoderSession(_model.TextDecoder, imageEmbeds, rowsPerImage)
        : new RecomputingDecoderSession(_model.TextDecoder, imageEmbeds, rowsPerImage);
}
