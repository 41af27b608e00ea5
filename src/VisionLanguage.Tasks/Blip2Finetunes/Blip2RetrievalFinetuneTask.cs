using System.Text.Json;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// The BLIP-2 retrieval finetune (LAVIS <c>retrieval_coco_ft.yaml</c>: <c>Blip2Qformer</c> from the stage-1 checkpoint,
/// <c>freeze_vit: False</c>, <c>vit_precision: fp32</c>): the stage-1 Q-Former of input <c>init</c> over the image encoder
/// of input <c>image_encoder</c> (the one its record names), which now trains in float32 with it; ITC, ITM and ITG as in
/// stage 1, but ITC's targets treat every caption of the same image as a positive (LAVIS's <c>image_id</c> branch).
/// Resumes exactly. At the end it evaluates retrieval on input <c>eval</c> (ITC by the best query, the top-k re-ranked by
/// ITM) with the trained encoder. The output holds the trained weights, the encoder's included, the vocabulary, and
/// the init's record of the encoder it started from.
/// </summary>
public sealed class Blip2RetrievalFinetuneTask(IBlipBatchSourceFactory data, Blip2RetrievalFinetuneSettings settings)
{
    public const string Kind = "blip2.finetune.retrieval";

    private const string Fix = "bind init to a blip2.stage1 output (or a blip2.finetune.retrieval output, to continue) and image_encoder to the encoder it records";

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var initInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "init", "a blip2.stage1 output", cancellationToken);
        var encoderInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "image_encoder", "the image encoder the Q-Former was trained against", cancellationToken);
        var source = $"input init ({initInput.Name})";
        var state = CheckpointFiles.ReadState(initInput.Directory, [Blip2Stage1Model.Format, Blip2RetrievalModel.Format]);
        var stage1 = (state.Format == Blip2Stage1Model.Format
                ? state.Model["model"].Deserialize<Blip2Stage1Config>(BlipCheckpointDescription.Json)
                : state.Model["model"].Deserialize<Blip2RetrievalConfig>(BlipCheckpointDescription.Json)?.Stage1)
            ?? throw new InvalidDataException($"{source} does not describe its Q-Former; {Fix}");
        var record = Blip2EncoderRecord.Read(initInput, source, Fix);
        var (family, vision, encoderWeights) = Blip2FinetuneInputs.Encoder(source, record, encoderInput, settings.Loader.ImageSize);
        var config = new Blip2RetrievalConfig(
            stage1 with { ItcImagePositives = true, LabelSmoothing = settings.LabelSmoothing, ItmHardNegativeShare = settings.ItmHardNegativeShare },
            family, vision, record.BlocksUsed);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        using var opened = data.Open(
            new BlipDataRequest([.. train.Select(input => input.Directory)], [.. eval.Select(input => input.Directory)], initInput.Directory, settings.Loader, settings.BadData),
            TaskTraining.Layout(run));
        if (opened.VocabSize != stage1.Qformer.VocabSize)
        {
            throw new InvalidDataException(
                $"{source} has a vocabulary of {opened.VocabSize} tokens, but its Q-Former embeds {stage1.Qformer.VocabSize}; {Fix}");
        }

        run.Logger.LogInformation(
            "Retrieval finetune of {Init}: its encoder from {Encoder} ({Blocks} blocks) trained with the Q-Former; ITC positives by image",
            initInput.Name, encoderInput.Name, config.BlocksUsed);
        using var trainer = new Trainer<Blip2RetrievalModel, BlipPretrainBatch>(
            _ =>
            {
                var model = new Blip2RetrievalModel(config, opened.Tokens, settings.Trainer.Seed, device);
                model.LoadSources([encoderWeights, Path.Combine(initInput.Directory, CheckpointFiles.Weights)], Fix);
                return model;
            },
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);
        trainer.CheckGlobalBatch(opened.Shards[0].BatchSize);
        var summary = await TaskTraining.TrainAsync(run, trainer, [.. opened.Shards], null, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        if (opened.Eval is { } evalSource)
        {
            var model = trainer.Model;
            var retrieval = BlipRetrievalEvaluation.Evaluate(
                new Blip2Retrieval(model.Stage1, model.EncodeImages), evalSource.ReadEpochAsync(0, 0, cancellationToken).ToBlockingEnumerable(cancellationToken), settings.EvalTopK,
                TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in retrieval.Metrics())
            {
                metrics[name] = value;
            }

            run.Logger.LogInformation(
                "Retrieval on {Images} images and {Texts} captions: image→text R@1 {I2T:P1}, text→image R@1 {T2I:P1}",
                retrieval.Images, retrieval.Texts, retrieval.ImageToTextR1, retrieval.TextToImageR1);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), opened.Vocabulary);
        File.Copy(Path.Combine(initInput.Directory, Blip2ImageEncoderInput.FileName), Path.Combine(output, Blip2ImageEncoderInput.FileName), overwrite: true);
        return TaskResult.Checkpoint(output, metrics);
    }
}
