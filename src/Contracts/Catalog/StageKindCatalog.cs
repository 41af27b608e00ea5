using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Catalog.Presets;

namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// Every stage kind the platform knows. The orchestrator validates specs against it and the workers
/// find their stage runners through it, so both always agree on inputs, outputs and options.
/// </summary>
public static class StageKindCatalog
{
    public static IReadOnlyList<StageKind> All { get; } = [.. Build().Select(WithPresets)];

    public static StageKind? Find(string name) => All.FirstOrDefault(kind => kind.Name == name);

    /// <summary>Every training kind offers the presets (<see cref="OptionPresets"/>); the others have none.</summary>
    private static StageKind WithPresets(StageKind kind) =>
        typeof(TrainingOptions).IsAssignableFrom(kind.OptionsType) ? kind with { Presets = OptionPresets.For(kind.Name, kind.OptionsType) } : kind;

    private static List<StageKind> Build()
    {
        var datasetIn = (string name, string description) => new InputSlot(name, [ArtifactType.Dataset], description) { Needs = DatasetContent.Captions };
        var trainIn = new InputSlot("train", [ArtifactType.Dataset], "Training data; several datasets are concatenated.") { IsList = true, Needs = DatasetContent.Captions };
        var evalIn = new InputSlot("eval", [ArtifactType.Dataset], "Held-out data evaluated at the end.") { Optional = true, Needs = DatasetContent.Captions };
        // What a dataset.synthetic split holds: its captions always, VQA questions and NLVR2 statements when asked for.
        IReadOnlyList<DatasetHolds> synthetic =
        [
            new(DatasetContent.Captions),
            new(DatasetContent.VqaQuestions, ContentCondition.AboveZero("vqa_questions")),
            new(DatasetContent.Nlvr2Statements, ContentCondition.AboveZero("nlvr2_pairs")),
        ];
        var blipInit = new InputSlot("init", [ArtifactType.BlipCheckpoint], "The BLIP checkpoint to start from.");

        return
        [
            new()
            {
                Name = "dataset.synthetic",
                Description = "Renders scenes of shapes with captions of known, controllable noise: web (noisy), human (clean, small) and test (clean) splits; with vqa_questions above 0 each split also holds VQA questions about its own images, ten annotator answers each, of controlled disagreement; with nlvr2_pairs above 0, NLVR2 pairs of its own images with true or false statements.",
                Outputs =
                [
                    new("web", ArtifactType.Dataset, "Web split; the manifest records which captions were corrupted. With VQA or NLVR2: training questions or statements.") { Holds = synthetic },
                    new("human", ArtifactType.Dataset, "Clean, small split. With VQA or NLVR2: training questions or statements.") { Holds = synthetic },
                    new("test", ArtifactType.Dataset, "Clean held-out split. With VQA or NLVR2: held-out questions or statements, about held-out images only.") { Holds = synthetic },
                ],
                OptionsType = typeof(SyntheticDatasetOptions),
            },
            new()
            {
                Name = "dataset.import",
                Description = "Checks an annotation file and its image root: BLIP captions (format caption), one VQA split in LAVIS's VQAv2 format (format vqa) or one NLVR2 split in BLIP's format (format nlvr2); every image decodes, every caption, question, answer and statement is non-empty.",
                Outputs =
                [
                    new("dataset", ArtifactType.Dataset, "The checked dataset: captions, one VQA split or one NLVR2 split.")
                    {
                        Holds =
                        [
                            new(DatasetContent.Captions, ContentCondition.OneOf("format", "caption")),
                            new(DatasetContent.VqaQuestions, ContentCondition.OneOf("format", "vqa")),
                            new(DatasetContent.Nlvr2Statements, ContentCondition.OneOf("format", "nlvr2")),
                        ],
                    },
                ],
                OptionsType = typeof(DatasetImportOptions),
            },
            new()
            {
                Name = "model.import",
                Description = "Imports a checkpoint folder (HF layout: config.json, safetensors single or sharded, tokenizer files): every name and shape is checked against its config, and the weights become a frozen image encoder, a text encoder or a frozen LLM.",
                Outputs =
                [
                    new("image_encoder", ArtifactType.ImageEncoderWeights, "The weights as a frozen image encoder.")
                    {
                        When = new("architecture", ["clip_vit", "eva_vit"]),
                    },
                    new("text_encoder", ArtifactType.TextEncoderWeights, "A BERT text encoder and its vocabulary, to initialise a Q-Former.")
                    {
                        When = new("architecture", ["bert"]),
                    },
                    new("llm", ArtifactType.LlmWeights, "A frozen language model and its tokenizer files, for BLIP-2 stage 2.")
                    {
                        When = new("architecture", ["opt", "t5"]),
                    },
                ],
                OptionsType = typeof(ModelImportOptions),
            },
            new()
            {
                Name = "blip.pretrain",
                Description = "BLIP pretraining of the MED model: ITC (momentum encoder, feature queue, soft targets), ITM (hard negatives) and LM.",
                Inputs = [trainIn, blipInit with { Optional = true, Description = "A checkpoint to continue from." }, evalIn],
                Outputs = [new("checkpoint", ArtifactType.BlipCheckpoint, "The pretrained model.")],
                OptionsType = typeof(BlipPretrainOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip.finetune.caption",
                Description = "LM finetune with a prompt; beam or nucleus decoding; BLEU-4 and CIDEr-D on the eval split.",
                Inputs = [blipInit, trainIn, evalIn],
                Outputs = [new("checkpoint", ArtifactType.CaptionerCheckpoint, "The captioner.")],
                OptionsType = typeof(BlipCaptionOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip.finetune.retrieval",
                Description = "ITC + ITM finetune; recall@1/5/10 with ITC top-k re-ranked by ITM on the eval split.",
                Inputs = [blipInit, trainIn, evalIn],
                Outputs = [new("checkpoint", ArtifactType.RetrievalCheckpoint, "The filter / retrieval model.")],
                OptionsType = typeof(BlipRetrievalOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip.capfilt",
                Description = "The captioner writes synthetic captions for web images; the filter keeps pairs whose ITM score reaches the threshold.",
                Inputs =
                [
                    new("captioner", [ArtifactType.CaptionerCheckpoint], "Writes the synthetic captions."),
                    new("filter", [ArtifactType.RetrievalCheckpoint], "Scores every caption with ITM."),
                    datasetIn("web", "The web images and their captions."),
                    new("scores", [ArtifactType.CapfiltScores], "Earlier scores: only the threshold is applied again.") { Optional = true },
                    datasetIn("calibration", "Clean image-caption pairs (e.g. the test split): the filter scores them, reports the share the threshold would reject, and clean_reject_share sets the threshold from them.") with { Optional = true },
                ],
                Outputs =
                [
                    new("dataset", ArtifactType.Dataset, "The kept pairs.") { Holds = [new(DatasetContent.Captions)] },
                    new("scores", ArtifactType.CapfiltScores, "Every candidate caption and its score."),
                ],
                OptionsType = typeof(BlipCapfiltOptions),
                OptionNeeds =
                [
                    new("clean_reject_share", ["calibration", "scores"],
                        "the threshold is set from the filter's scores of clean pairs; bind input 'calibration' to a clean dataset (e.g. the test split), or 'scores' from a run that had one"),
                ],
            },
            new()
            {
                Name = "blip.finetune.vqa",
                Description = "VQA: the question read by the image-grounded text encoder, an answer decoder (started from the pretrained decoder) cross-attending to its states, trained on each answer weighted by its share of the annotators; answers by ranking the answer list or by generating; VQA accuracy beside the majority-answer baseline.",
                Inputs =
                [
                    blipInit,
                    trainIn with { Description = "VQA questions (the VQA splits of the datasets: dataset.synthetic with vqa_questions, or dataset.import with format vqa); several are concatenated.", Needs = DatasetContent.VqaQuestions },
                    evalIn with { Description = "Held-out VQA questions answered at the end; its answer_list.json is the ranking's candidate list.", Needs = DatasetContent.VqaQuestions },
                ],
                Outputs = [new("checkpoint", ArtifactType.VqaCheckpoint, "The VQA model, its vocabulary and its candidate list.")],
                OptionsType = typeof(BlipVqaOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip.finetune.nlvr2",
                Description = "NLVR2: one statement, two images through the shared ViT, two cross-attentions per layer (both from the pretrained one) averaged in the first half of the layers and concatenated and projected in the second; a classifier on [ENC]; image swap with left/right swapped; accuracy beside the majority-class baseline.",
                Inputs =
                [
                    blipInit,
                    trainIn with { Description = "NLVR2 examples (the NLVR2 splits of the datasets: dataset.synthetic with nlvr2_pairs, or dataset.import with format nlvr2); several are concatenated.", Needs = DatasetContent.Nlvr2Statements },
                    evalIn with { Description = "Held-out NLVR2 examples scored at the end.", Needs = DatasetContent.Nlvr2Statements },
                ],
                Outputs = [new("checkpoint", ArtifactType.Nlvr2Checkpoint, "The NLVR2 model and its vocabulary.")],
                OptionsType = typeof(BlipNlvr2Options),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip2.stage1",
                Description = "BLIP-2 stage 1: Q-Former queries against a frozen image encoder, with ITC, ITG and ITM and their attention masks.",
                Inputs =
                [
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint], "The frozen image encoder: an imported ViT or the visual_encoder of a BLIP checkpoint."),
                    new("text_init", [ArtifactType.TextEncoderWeights, ArtifactType.BlipCheckpoint],
                        "Initialises the Q-Former's text side (embeddings, self-attention, feed-forwards, also copied to the queries' feed-forwards) and its vocabulary: an imported BERT or the text encoder of a BLIP checkpoint. The Q-Former's shape then comes from it.") { Optional = true },
                    trainIn,
                    evalIn,
                ],
                Outputs = [new("checkpoint", ArtifactType.QFormerCheckpoint, "The Q-Former.")],
                OptionsType = typeof(Blip2Stage1Options),
                TrainsAsGang = true,
                InputDecides = [new("text_init", ["qformer_width", "qformer_layers", "qformer_heads"], "the Q-Former's shape")],
            },
            new()
            {
                Name = "llm.pretrain",
                Description = "Trains a small OPT- or T5-architecture language model and its tokenizer from scratch on the captions and question-answer texts of its training datasets, written as model.import writes an imported LLM.",
                Inputs =
                [
                    trainIn with { Description = "The texts to learn (captions, VQA questions with their answers): only training splits, so that evaluation on held-out splits stays zero-shot.", Needs = DatasetContent.Captions | DatasetContent.VqaQuestions },
                    evalIn with { Description = "Held-out captions and VQA questions whose loss is reported at the end.", Needs = DatasetContent.Captions | DatasetContent.VqaQuestions },
                ],
                Outputs = [new("llm", ArtifactType.LlmWeights, "The language model in HF's names, config.json and tokenizer files.")],
                OptionsType = typeof(LlmPretrainOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip2.stage2",
                Description = "BLIP-2 stage 2: the stage-1 Q-Former's output, linearly projected, as a soft visual prompt to a frozen LLM (decoder-only, or encoder-decoder as a prefix LM); evaluates captioning and zero-shot VQA through the LLM against no-image baselines.",
                Inputs =
                [
                    new("qformer", [ArtifactType.QFormerCheckpoint], "The stage-1 Q-Former; its text-only parts are left out, as LAVIS does."),
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint], "The frozen image encoder the Q-Former was trained against in stage 1 (checked against its record)."),
                    new("llm", [ArtifactType.LlmWeights], "The frozen LLM: a model.import of an OPT or T5 checkpoint, or an llm.pretrain output."),
                    trainIn,
                    evalIn with { Description = "Held-out captioned images, captioned through the LLM at the end (BLEU-4, CIDEr-D)." },
                    new("vqa_eval", [ArtifactType.Dataset], "Held-out VQA questions answered zero-shot at the end (VQA accuracy).") { Optional = true, Needs = DatasetContent.VqaQuestions },
                ],
                Outputs = [new("checkpoint", ArtifactType.Blip2Checkpoint, "The Q-Former side (ln_vision, Q-Former, queries, projection); the encoder, the LLM and the stage-1 checkpoint are referenced by digest.")],
                OptionsType = typeof(Blip2Stage2Options),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "evaluate",
                Description = "Scores a BLIP or BLIP-2 checkpoint on a dataset with the metric of its task, as its own stage scored it at its end, so two models are compared on the same split by the DAG: retrieval (recall@1/5/10 both ways, ITC top-k re-ranked by ITM), caption (BLEU-4, CIDEr-D), vqa (VQA accuracy) or nlvr2 (accuracy).",
                Inputs =
                [
                    new("checkpoint", [ArtifactType.BlipCheckpoint, ArtifactType.QFormerCheckpoint, ArtifactType.Blip2RetrievalCheckpoint, ArtifactType.Blip2Checkpoint],
                        "The checkpoint to score: task retrieval takes a blip.pretrain, blip.finetune.retrieval, blip2.stage1 or blip2.finetune.retrieval output; task caption a blip.finetune.caption, blip2.stage2 or blip2.finetune.caption output; task vqa a blip.finetune.vqa or blip2.finetune.vqa output; task nlvr2 a blip.finetune.nlvr2 output."),
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint],
                        "BLIP-2 stage-1 and stage-2 checkpoints: the frozen image encoder they were trained against (checked against their record). A BLIP-2 finetune's checkpoint holds its trained encoder and reads none.") { Optional = true },
                    new("llm", [ArtifactType.LlmWeights],
                        "BLIP-2 checkpoints through an LLM (blip2.stage2, blip2.finetune.caption, blip2.finetune.vqa outputs): the frozen LLM they were trained into (checked against their record).") { Optional = true },
                    new("dataset", [ArtifactType.Dataset], "The data to score it on, e.g. a dataset's test split: captioned images (retrieval, caption), its VQA splits (vqa) or its NLVR2 splits (nlvr2).")
                    {
                        IsList = true,
                        Needs = DatasetContent.Captions | DatasetContent.VqaQuestions | DatasetContent.Nlvr2Statements,
                    },
                ],
                Outputs = [new("report", ArtifactType.EvaluationReport, "metrics.json with the task's metrics (and samples.json with sample captions for task caption).")],
                OptionsType = typeof(EvaluateOptions),
                InputTypesByOption =
                [
                    new("task", "checkpoint", new Dictionary<string, IReadOnlyList<ArtifactType>>
                    {
                        ["retrieval"] = [ArtifactType.BlipCheckpoint, ArtifactType.RetrievalCheckpoint, ArtifactType.QFormerCheckpoint, ArtifactType.Blip2RetrievalCheckpoint],
                        ["caption"] = [ArtifactType.CaptionerCheckpoint, ArtifactType.Blip2Checkpoint, ArtifactType.Blip2CaptionerCheckpoint],
                        ["vqa"] = [ArtifactType.VqaCheckpoint, ArtifactType.Blip2VqaCheckpoint],
                        ["nlvr2"] = [ArtifactType.Nlvr2Checkpoint],
                    }),
                ],
                InputsNeededByType =
                [
                    new("checkpoint", [ArtifactType.QFormerCheckpoint, ArtifactType.Blip2Checkpoint], ["image_encoder"],
                        "the checkpoint references its frozen image encoder by digest instead of holding it; bind the encoder its stage read"),
                    new("checkpoint", [ArtifactType.Blip2Checkpoint, ArtifactType.Blip2CaptionerCheckpoint, ArtifactType.Blip2VqaCheckpoint], ["llm"],
                        "the checkpoint references its frozen LLM by digest instead of holding it; bind the LLM its stage read"),
                ],
                InputContentsByOption =
                [
                    new("task", "dataset", new Dictionary<string, DatasetContent>
                    {
                        ["retrieval"] = DatasetContent.Captions,
                        ["caption"] = DatasetContent.Captions,
                        ["vqa"] = DatasetContent.VqaQuestions,
                        ["nlvr2"] = DatasetContent.Nlvr2Statements,
                    }),
                ],
            },
            new()
            {
                Name = "blip2.finetune.caption",
                Description = "BLIP-2 caption finetune from a stage-2 checkpoint: the image encoder (in fp32), ln_vision, the Q-Former, the queries and the projection train; the LLM stays frozen; captions are learned after the prompt (\"a photo of\"); BLEU-4 and CIDEr-D on the eval split.",
                Inputs =
                [
                    new("init", [ArtifactType.Blip2Checkpoint], "The BLIP-2 model to finetune: a blip2.stage2 output (or a BLIP-2 caption finetune's, to continue)."),
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint], "The image encoder the init reads (checked against its record); its weights start the encoder that now trains."),
                    new("llm", [ArtifactType.LlmWeights], "The frozen LLM the init was trained into (checked against its record)."),
                    trainIn,
                    evalIn with { Description = "Held-out captioned images, captioned from the prompt at the end (BLEU-4, CIDEr-D)." },
                ],
                Outputs = [new("checkpoint", ArtifactType.Blip2CaptionerCheckpoint, "The finetuned model with its trained image encoder; the LLM and the stage-1 Q-Former are referenced by digest.")],
                OptionsType = typeof(Blip2CaptionFinetuneOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip2.finetune.retrieval",
                Description = "BLIP-2 retrieval finetune from a stage-1 checkpoint: ITC (every caption of the same image a positive), ITM and ITG, the image encoder unfrozen in fp32; recall@1/5/10 with ITC top-k re-ranked by ITM on the eval split.",
                Inputs =
                [
                    new("init", [ArtifactType.QFormerCheckpoint, ArtifactType.Blip2RetrievalCheckpoint], "The Q-Former to finetune: a blip2.stage1 output (or a blip2.finetune.retrieval output, to continue)."),
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint], "The image encoder the Q-Former was trained against (checked against its record); its weights start the encoder that now trains."),
                    trainIn,
                    evalIn,
                ],
                Outputs = [new("checkpoint", ArtifactType.Blip2RetrievalCheckpoint, "The finetuned Q-Former with its trained image encoder and vocabulary.")],
                OptionsType = typeof(Blip2RetrievalFinetuneOptions),
                TrainsAsGang = true,
            },
            new()
            {
                Name = "blip2.finetune.vqa",
                Description = "BLIP-2 VQA finetune from a stage-2 checkpoint: the question reaches the Q-Former too (InstructBLIP's way; its text side from the stage-1 Q-Former), the image encoder (in fp32), the Q-Former and the projection train, the LLM stays frozen and learns the answer after \"Question: {} Answer:\"; VQA accuracy on the eval split.",
                Inputs =
                [
                    new("init", [ArtifactType.Blip2Checkpoint], "The BLIP-2 model to finetune: a blip2.stage2 output."),
                    new("qformer", [ArtifactType.QFormerCheckpoint], "The stage-1 Q-Former the init was trained from (checked against its record): its text side, which stage 2 trims, and its vocabulary read the questions."),
                    new("image_encoder", [ArtifactType.ImageEncoderWeights, ArtifactType.BlipCheckpoint], "The image encoder the init reads (checked against its record); its weights start the encoder that now trains."),
                    new("llm", [ArtifactType.LlmWeights], "The frozen LLM the init was trained into (checked against its record)."),
                    trainIn with { Description = "VQA questions to learn: a dataset.synthetic output with vqa_questions above 0 or a dataset.import with format vqa; several are concatenated.", Needs = DatasetContent.VqaQuestions },
                    evalIn with { Description = "Held-out VQA questions, answered at the end (VQA accuracy, and the majority answer's as baseline_eval_vqa_accuracy).", Needs = DatasetContent.VqaQuestions },
                ],
                Outputs = [new("checkpoint", ArtifactType.Blip2VqaCheckpoint, "The finetuned model with its trained image encoder and the Q-Former's text side and vocabulary; the LLM is referenced by digest.")],
                OptionsType = typeof(Blip2VqaFinetuneOptions),
                TrainsAsGang = true,
            },
        ];
    }
}
