using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Training;

namespace Trainer.Worker.Runners;

/// <summary>
/// From a stage kind's options (the orchestrator's wire types) to the vision-language libraries' own settings: the
/// one place where the two vocabularies meet, so the libraries stay usable without the orchestrator.
/// </summary>
public static class BlipOptionsMapping
{
    /// <summary>The model of a stage's options: the preset's shapes (already applied by the binder) and the text vocabulary.</summary>
    public static BlipModelConfig ModelConfig(BlipPretrainOptions options, int vocabSize, long padTokenId) => new()
    {
        Vision = new VitConfig
        {
            ImageSize = options.ImageSize,
            PatchSize = options.PatchSize,
            Width = options.VisionWidth,
            Depth = options.VisionDepth,
            Heads = options.VisionHeads,
        },
        Text = new MedConfig
        {
            VocabSize = vocabSize,
            HiddenSize = options.TextWidth,
            Layers = options.TextLayers,
            Heads = options.TextHeads,
            IntermediateSize = 4 * options.TextWidth,
            MaxPositionEmbeddings = Math.Max(MedConfig.BertMaxPositions, options.MaxTextLength),
            EncoderWidth = options.VisionWidth,
            PadTokenId = padTokenId,
        },
        EmbedDim = options.EmbedDim,
        QueueSize = options.QueueSize,
        Momentum = options.Momentum,
        Temperature = options.Temperature,
        LabelSmoothing = options.LabelSmoothing,
        ItmHardNegativeShare = options.ItmHardNegativeShare,
        ItmSwapNegativeShare = options.ItmSwapNegativeShare,
        ItmSwapCandidates = options.ItmSwapCandidates,
        Alpha = options.Alpha,
    };

    /// <summary>
    /// A retrieval finetune's model: the shape of its init checkpoint (<paramref name="init"/>, already at the stage's
    /// image size) with the stage's ITC/ITM training values.
    /// </summary>
    public static BlipModelConfig RetrievalConfig(BlipModelConfig init, BlipRetrievalOptions options) => init with
    {
        QueueSize = options.QueueSize,
        Momentum = options.Momentum,
        Temperature = options.Temperature,
        ItmHardNegativeShare = options.ItmHardNegativeShare,
        ItmSwapNegativeShare = options.ItmSwapNegativeShare,
        ItmSwapCandidates = options.ItmSwapCandidates,
        Alpha = options.Alpha,
    };

    /// <summary>
    /// The settings of a caption stage: beam search without repetition penalty (BLIP's <c>generate</c> with
    /// <c>sample=False</c>), or nucleus sampling with the stage's top_p and repetition penalty.
    /// </summary>
    public static CaptionDecodingSettings Decoding(BlipCaptionOptions options) => new()
    {
        Search = options.Decoding == DecodingMethod.Nucleus ? CaptionSearch.Nucleus : CaptionSearch.Beam,
        BeamSize = options.BeamSize,
        MinLength = options.MinLength,
        MaxLength = options.MaxLength,
        TopP = options.TopP,
        RepetitionPenalty = options.Decoding == DecodingMethod.Nucleus ? options.RepetitionPenalty : 1.0,
    };

    /// <summary>CapFilt's captioner: nucleus sampling with the stage's top-p, repetition penalty, lengths and captions per image.</summary>
    public static CaptionDecodingSettings CapfiltDecoding(BlipCapfiltOptions options) => new()
    {
        Search = CaptionSearch.Nucleus,
        SamplesPerImage = options.CaptionsPerImage,
        TopP = options.TopP,
        RepetitionPenalty = options.RepetitionPenalty,
        MinLength = options.MinLength,
        MaxLength = options.MaxLength,
    };

    /// <summary>The settings every training stage's options give.</summary>
    public static TrainerSettings Trainer(TrainingOptions options) => new()
    {
        Epochs = options.Epochs,
        MaxSteps = options.MaxSteps,
        LearningRate = options.LearningRate,
        MinLearningRate = options.MinLearningRate,
        WeightDecay = options.WeightDecay,
        WarmupSteps = options.WarmupSteps,
        Schedule = options.LrSchedule switch
        {
            Orchestrator.Contracts.Catalog.Options.LearningRateSchedule.Step => VisionLanguage.Training.LearningRateSchedule.Step,
            _ => VisionLanguage.Training.LearningRateSchedule.Cosine,
        },
        GradClipNorm = options.GradClipNorm,
        GradAccumulationSteps = options.GradAccumulationSteps,
        CheckpointEverySteps = options.CheckpointEverySteps,
        Seed = options.Seed,
    };

    /// <summary>A training stage's loader settings: crop scales and flips are options of the ITC/ITM kinds, other kinds crop 0.5–1 without flips.</summary>
    public static LoaderSettings Loader(TrainingOptions options) => options is BlipContrastiveOptions contrastive
        ? Loader(options, contrastive.CropMinScale, contrastive.CropMaxScale, contrastive.HorizontalFlip)
        : Loader(options, 0.5, 1.0, flip: false);

    public static VisionLanguage.Data.BadDataPolicy BadData(Orchestrator.Contracts.Catalog.Options.BadDataPolicy policy) => policy switch
    {
        Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip => VisionLanguage.Data.BadDataPolicy.Skip,
        _ => VisionLanguage.Data.BadDataPolicy.Fail,
    };

    public static SyntheticDatasetSettings Synthetic(SyntheticDatasetOptions options) => new()
    {
        Images = options.Images,
        HumanImages = options.HumanImages,
        TestImages = options.TestImages,
        WebNoise = options.WebNoise,
        ImageSize = options.ImageSize,
        Seed = options.Seed,
    };

    private static LoaderSettings Loader(TrainingOptions options, double minScale, double maxScale, bool flip) => new()
    {
        BatchSize = options.BatchSize,
        Seed = options.Seed,
        ImageSize = options.ImageSize,
        MaxTextLength = options.MaxTextLength,
        CropMinScale = minScale,
        CropMaxScale = maxScale,
        HorizontalFlip = flip,
    };
}
