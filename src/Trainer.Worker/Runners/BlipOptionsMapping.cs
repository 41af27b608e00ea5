using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Capfilt;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Nlvr2;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Scoring;
using VisionLanguage.Tasks.Vqa;
using VisionLanguage.Training;

namespace Trainer.Worker.Runners;

/// <summary>
/// From a stage kind's options (the orchestrator's wire types) to the vision-language libraries' own settings: the
/// one place where the two vocabularies meet, so the libraries stay usable without the orchestrator.
/// </summary>
public static class BlipOptionsMapping
{
    /// <summary>
    /// The model of a stage's options: the preset's shapes (already applied by the binder) and the text vocabulary, which
    /// <see cref="BlipPretrainTask"/> sets to its tokenizer's when left 0.
    /// </summary>
    public static BlipModelConfig ModelConfig(BlipPretrainOptions options, int vocabSize = 0, long padTokenId = 0) => Objectives(options).ApplyTo(new()
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
        LabelSmoothing = options.LabelSmoothing,
    });

    /// <summary>The ITC/ITM values of a pretrain, or of a retrieval finetune over its init checkpoint's shape.</summary>
    public static BlipRetrievalObjectives Objectives(BlipContrastiveOptions options) => new()
    {
        QueueSize = options.QueueSize,
        Momentum = options.Momentum,
        Alpha = options.Alpha,
        Temperature = options.Temperature,
        ItmHardNegativeShare = options.ItmHardNegativeShare,
        ItmSwapNegativeShare = options.ItmSwapNegativeShare,
        ItmSwapCandidates = options.ItmSwapCandidates,
    };

    /// <summary>How a pretrain or a retrieval finetune trains, loads its data and evaluates.</summary>
    public static BlipImageTextSettings ImageText(BlipContrastiveOptions options) => new()
    {
        Trainer = Trainer(options),
        Loader = Loader(options),
        BadData = BadData(options.OnBadData),
        EvalTopK = options.EvalTopK,
    };

    /// <summary>How a caption finetune trains, loads its data and captions.</summary>
    public static BlipCaptionSettings Caption(BlipCaptionOptions options) => new()
    {
        Trainer = Trainer(options),
        Loader = Loader(options),
        BadData = BadData(options.OnBadData),
        Prompt = options.Prompt,
        LabelSmoothing = options.LabelSmoothing,
        Decoding = Decoding(options),
    };

    /// <summary>How a VQA finetune trains, loads its data and answers.</summary>
    public static BlipVqaSettings Vqa(BlipVqaOptions options) => new()
    {
        Trainer = Trainer(options),
        Loader = Loader(options),
        BadData = BadData(options.OnBadData),
        LabelSmoothing = options.LabelSmoothing,
        Answering = new VqaAnsweringSettings
        {
            Method = options.Inference == VqaInference.Generate ? VqaInferenceMethod.Generate : VqaInferenceMethod.Rank,
            Candidates = options.AnswerCandidates,
            BeamSize = options.BeamSize,
            MinLength = options.MinAnswerLength,
            MaxLength = options.MaxAnswerLength,
        },
    };

    /// <summary>How an NLVR2 finetune trains and loads its data.</summary>
    public static BlipNlvr2Settings Nlvr2(BlipNlvr2Options options) => new()
    {
        Trainer = Trainer(options),
        Loader = Loader(options),
        BadData = BadData(options.OnBadData),
        SwapImages = options.SwapImages,
    };

    /// <summary>
    /// The settings of a caption stage: beam search without repetition penalty (BLIP's <c>generate</c> with
    /// <c>sample=False</c>), or nucleus sampling with the stage's top_p and repetition penalty.
    /// </summary>
    public static CaptionDecodingSettings Decoding(ICaptionDecodingOptions options) => new()
    {
        Search = options.Decoding == DecodingMethod.Nucleus ? CaptionSearch.Nucleus : CaptionSearch.Beam,
        BeamSize = options.BeamSize,
        MinLength = options.MinLength,
        MaxLength = options.MaxLength,
        TopP = options.TopP,
        RepetitionPenalty = options.Decoding == DecodingMethod.Nucleus ? options.RepetitionPenalty : 1.0,
    };

    /// <summary>An evaluation: its task, how it reads the dataset, and, for captions and VQA, the decoding.</summary>
    public static EvaluateSettings Evaluate(EvaluateOptions options) => new()
    {
        Task = options.Task switch
        {
            EvaluationTask.Retrieval => ScoredTask.Retrieval,
            EvaluationTask.Caption => ScoredTask.Caption,
            EvaluationTask.Vqa => ScoredTask.Vqa,
            EvaluationTask.Nlvr2 => ScoredTask.Nlvr2,
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Task, "no such evaluation task"),
        },
        BatchSize = options.BatchSize,
        MaxTextLength = options.MaxTextLength,
        EvalTopK = options.EvalTopK,
        AnswerCandidates = options.AnswerCandidates,
        Decoding = Decoding(options),
        Seed = options.Seed,
        BadData = BadData(options.OnBadData),
    };

    /// <summary>CapFilt: the threshold (or the clean share it rejects), shards, and the captioner's nucleus sampling.</summary>
    public static CapfiltSettings Capfilt(BlipCapfiltOptions options) => new()
    {
        Threshold = options.Threshold,
        CleanRejectShare = options.CleanRejectShare,
        ShardSize = options.ShardSize,
        Seed = options.Seed,
        Decoding = new CaptionDecodingSettings
        {
            Search = CaptionSearch.Nucleus,
            SamplesPerImage = options.CaptionsPerImage,
            TopP = options.TopP,
            RepetitionPenalty = options.RepetitionPenalty,
            MinLength = options.MinLength,
            MaxLength = options.MaxLength,
        },
    };

    /// <summary>The name an import architecture goes by in options and imported artifacts.</summary>
    public static string ArchitectureName(ModelArchitecture architecture) => architecture switch
    {
        ModelArchitecture.Bert => "bert",
        ModelArchitecture.ClipVit => "clip_vit",
        ModelArchitecture.EvaVit => "eva_vit",
        ModelArchitecture.Opt => "opt",
        ModelArchitecture.T5 => "t5",
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "unknown architecture"),
    };

    /// <summary>BLIP-2 stage 1: the Q-Former's shape and objectives, the encoder block read, training, data and evaluation.</summary>
    public static Blip2Stage1Settings Blip2Stage1(Blip2Stage1Options options) => new()
    {
        Model = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig
            {
                HiddenSize = options.QformerWidth,
                Layers = options.QformerLayers,
                Heads = options.QformerHeads,
                IntermediateSize = 4 * options.QformerWidth,
                MaxPositionEmbeddings = Math.Max(MedConfig.BertMaxPositions, options.MaxTextLength),
                CrossAttentionFrequency = options.CrossAttentionFreq,
                QueryTokens = options.NumQueryToken,
            },
            EmbedDim = options.EmbedDim,
            Temperature = options.Temperature,
            LabelSmoothing = options.LabelSmoothing,
            ItmHardNegativeShare = options.ItmHardNegativeShare,
        },
        Trainer = Trainer(options),
        Loader = Loader(options),
        BadData = BadData(options.OnBadData),
        VisionLayer = options.VisionLayer,
        EvalTopK = options.EvalTopK,
        CacheImageFeatures = options.ImageFeatures == ImageFeatures.Cache,
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

    /// <summary>
    /// A training stage's loader settings: crop scales and flips are options of the ITC/ITM kinds, crop scales of VQA and
    /// NLVR2 (never a flip, which would turn "left" into "right" in an image), other kinds crop 0.5–1 without flips.
    /// </summary>
    public static LoaderSettings Loader(TrainingOptions options) => options switch
    {
        BlipContrastiveOptions contrastive => Loader(options, contrastive.CropMinScale, contrastive.CropMaxScale, contrastive.HorizontalFlip),
        BlipVqaOptions vqa => Loader(options, vqa.CropMinScale, vqa.CropMaxScale, flip: false),
        BlipNlvr2Options nlvr2 => Loader(options, nlvr2.CropMinScale, nlvr2.CropMaxScale, flip: false),
        _ => Loader(options, 0.5, 1.0, flip: false),
    };

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
        VqaQuestions = options.VqaQuestions,
        VqaDisagreement = options.VqaDisagreement,
        Nlvr2Pairs = options.Nlvr2Pairs,
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
