using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// The BLIP-2 caption finetune (LAVIS <c>caption_coco_ft.yaml</c>: <c>Blip2OPT</c>/<c>Blip2T5</c> from the stage-2
/// checkpoint, <c>freeze_vit: False</c>): the stage-2 model of input <c>init</c> over the image encoder of input
/// <c>image_encoder</c> (the one its record names), which now trains in float32 with <c>ln_vision</c>, the Q-Former,
/// the queries and the projection, while the LLM of input <c>llm</c> (the one stage 2 used) stays frozen; the loss is
/// the LLM's on the captions of input <c>train</c> after the prompt ("a photo of"), whose tokens are not learned.
/// Resumes exactly. At the end it captions input <c>eval</c>'s images from the prompt and scores them as BLIP's caption
/// finetune does (BLEU-4, CIDEr-D). The output holds the trained weights, the encoder's included, and carries the
/// init's records of its sources.
/// </summary>
public sealed class Blip2CaptionFinetuneTask(Blip2CaptionFinetuneSettings settings)
{
    public const string Kind = "blip2.finetune.caption";

    private const int SampleCaptions = 5;

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var initInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "init", "a blip2.stage2 output", cancellationToken);
        var encoderInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "image_encoder", "the image encoder the init's Q-Former was trained against", cancellationToken);
        var llmInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "llm", "the frozen LLM the init was trained into", cancellationToken);
        var init = Blip2LlmCheckpoint.Read(initInput);
        init.CheckSource("llm", llmInput);
        var config = init.FinetuneConfig(init.Qformer with { QueriesOnly = true }, encoderInput, settings.Loader.ImageSize, out var encoderWeights);
        var (_, tokenizer) = LlmInput.Tokenizer(llmInput);
        var texts = new LlmTexts(tokenizer, settings.Prompt, settings.EndToken, prefixLm: false, settings.Loader.MaxTextLength);
        run.Logger.LogInformation(
            "Caption finetune of {Init}: its encoder from {Encoder} ({Blocks} blocks) trained, into the frozen {Architecture} {Llm}, prompt \"{Prompt}\"",
            initInput.Name, encoderInput.Name, config.BlocksUsed, config.Llm, llmInput.Name, settings.Prompt);

        using var trainer = new Trainer<Blip2LlmFinetuneModel, Blip2LlmFinetuneBatch>(
            _ =>
            {
                var (llm, _) = LlmInput.Load(llmInput, FrozenPrecision.For(device, settings.LlmDtype), device, exactGelu: true);
                var model = new Blip2LlmFinetuneModel(config, llm, settings.Trainer.Seed, device);
                model.LoadSources([encoderWeights, init.WeightsPath], $"bind init to a blip2.stage2 output and image_encoder to the encoder it records");
                return model;
            },
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);
        var trainableShare = trainer.Model.TrainableShare();
        run.Logger.LogInformation("Trainable share of parameters: {Share:P2} (the LLM's are frozen)", trainableShare);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        using var trainSet = BlipDataset.Open([.. train.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
        var captions = BlipTokenizer.FromTokens(BlipVocabulary.ForDatasets([.. train.Select(input => input.Directory)], trainSet.Samples.Select(sample => sample.Caption)));
        var layout = TaskTraining.Layout(run);
        var shardLoader = settings.Loader with { BatchSize = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout) };
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<Blip2LlmFinetuneBatch>)new CaptionFinetuneBatches(BlipDataLoader.ForTraining(trainSet, captions, shardLoader, rank, layout.WorldSize), texts))
            .ToList();
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, null, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        metrics[ProgressMetricKeys.TrainableShare] = trainableShare;
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        if (eval.Count > 0)
        {
            using var evalSet = BlipDataset.Open([.. eval.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
            var captioner = new Blip2FinetuneCaptioner(trainer.Model, texts, settings.Prompt, settings.Captioning);
            var result = CaptionEvaluation.Evaluate(captioner, evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, null, SampleCaptions, TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in result.Metrics())
            {
                metrics[name] = value;
            }

            run.Logger.LogInformation("Captions of {Images} images: BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}", result.Images, result.Bleu4, result.CiderD);
            foreach (var sample in result.Samples)
            {
                run.Logger.LogInformation("{Image}: \"{Generated}\" (reference: \"{Reference}\")", sample.Image, sample.Generated, sample.References[0]);
            }
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        init.CarryRecords(output);
        new Blip2LlmEvaluation(Blip2LlmEvaluation.Caption, settings.Prompt, settings.EndToken, settings.Loader.MaxTextLength, settings.LlmDtype, settings.Captioning).Write(output);
        return TaskResult.Checkpoint(output, metrics);
    }
}
