using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Llm;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Blip2Finetunes;
using VisionLanguage.Tasks.Llm;
using static TorchSharp.torch;

namespace Trainer.Worker.Runners;

/// <summary>The options of the frozen-LLM kinds (<c>llm.pretrain</c>, <c>blip2.stage2</c>, the BLIP-2 caption and VQA finetunes) as their tasks' settings.</summary>
public static class LlmOptionsMapping
{
    public static LlmPretrainSettings LlmPretrain(LlmPretrainOptions options) => new()
    {
        Architecture = options.Architecture == LlmArchitecture.T5 ? LlmTokenizer.T5 : LlmTokenizer.Opt,
        VocabSize = options.VocabSize,
        HiddenSize = options.HiddenSize,
        Layers = options.Layers,
        Heads = options.Heads,
        FfnDim = options.FfnDim,
        MaxPositions = options.MaxPositions,
        MaxTextLength = options.MaxTextLength,
        BatchSize = options.BatchSize,
        Trainer = BlipOptionsMapping.Trainer(options),
        BadData = BlipOptionsMapping.BadData(options.OnBadData),
    };

    public static Blip2Stage2Settings Blip2Stage2(Blip2Stage2Options options) => new()
    {
        Trainer = BlipOptionsMapping.Trainer(options),
        Loader = BlipOptionsMapping.Loader(options),
        BadData = BlipOptionsMapping.BadData(options.OnBadData),
        Prompt = options.Prompt,
        EndToken = options.EndToken,
        PrefixLm = options.PrefixLm,
        LlmDtype = options.LlmDtype == LlmPrecision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32,
        CacheImageFeatures = options.ImageFeatures == ImageFeatures.Cache,
        CaptionPrompt = options.CaptionPrompt,
        Captioning = new LlmDecodingSettings
        {
            BeamSize = options.NumBeams,
            MinNewTokens = options.CaptionMinNewTokens,
            MaxNewTokens = options.CaptionMaxNewTokens,
            RepetitionPenalty = options.RepetitionPenalty,
        },
        VqaPrompt = options.VqaPrompt.Length > 0 ? options.VqaPrompt : null,
        Vqa = new LlmDecodingSettings
        {
            BeamSize = options.NumBeams,
            MinNewTokens = 1,
            MaxNewTokens = options.VqaMaxNewTokens,
            LengthPenalty = options.VqaLengthPenalty,
        },
    };

    public static Blip2CaptionFinetuneSettings Blip2CaptionFinetune(Blip2CaptionFinetuneOptions options) => new()
    {
        Trainer = BlipOptionsMapping.Trainer(options),
        Loader = BlipOptionsMapping.Loader(options),
        BadData = BlipOptionsMapping.BadData(options.OnBadData),
        Prompt = options.Prompt,
        EndToken = options.EndToken,
        LlmDtype = options.LlmDtype == LlmPrecision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32,
        Captioning = new LlmDecodingSettings
        {
            BeamSize = options.NumBeams,
            MinNewTokens = options.MinNewTokens,
            MaxNewTokens = options.MaxNewTokens,
            RepetitionPenalty = options.RepetitionPenalty,
        },
    };

    public static Blip2VqaFinetuneSettings Blip2VqaFinetune(Blip2VqaFinetuneOptions options) => new()
    {
        Trainer = BlipOptionsMapping.Trainer(options),
        Loader = BlipOptionsMapping.Loader(options),
        BadData = BlipOptionsMapping.BadData(options.OnBadData),
        Prompt = options.Prompt,
        MaxQuestionLength = options.MaxQuestionLength,
        EndToken = options.EndToken,
        LlmDtype = options.LlmDtype == LlmPrecision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32,
        Answering = new LlmDecodingSettings
        {
            BeamSize = options.NumBeams,
            MinNewTokens = 1,
            MaxNewTokens = options.MaxNewTokens,
            LengthPenalty = options.LengthPenalty,
        },
    };
}
