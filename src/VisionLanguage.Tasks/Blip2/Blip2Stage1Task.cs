using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// BLIP-2 stage 1 (LAVIS <c>Blip2Qformer</c> with the image-text pretrain task): a Q-Former built from the settings over
/// the training captions' vocabulary, or shaped and started by the text encoder of input <c>text_init</c> over its
/// vocabulary, trained with ITC, ITM and ITG against the frozen image encoder of input
/// <c>image_encoder</c> on input <c>train</c>; resumes exactly from the run's checkpoint; evaluates zero-shot retrieval on
/// input <c>eval</c> (ITC by the best query, the top-k re-ranked by ITM) and captioning through ITG (BLEU-4, CIDEr-D). The output checkpoint holds the Q-Former, its
/// vocabulary, a record of the encoder (<see cref="Blip2ImageEncoderInput.FileName"/>), not the encoder itself, and the
/// Q-Former in HF's names under <see cref="HfFolder"/>.
/// </summary>
public sealed class Blip2Stage1Task(IBlipBatchSourceFactory data, Blip2Stage1Settings settings)
{
    public const string Kind = "blip2.stage1";

    private const int SampleCaptions = 5;

    /// <summary>Where the output holds the Q-Former again in HF's <c>Blip2ForImageTextRetrieval</c> names (<see cref="Blip2HfWeights"/>).</summary>
    public const string HfFolder = "hf";

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var encoderInput = (await run.Inputs.FetchAsync("image_encoder", cancellationToken)).SingleOrDefault()
            ?? throw new InvalidOperationException("blip2.stage1 needs input image_encoder, the frozen image encoder; bind it to a BLIP checkpoint (e.g. a blip.pretrain stage's output) or a model.import of a clip_vit or eva_vit checkpoint");
        using var encoder = Blip2ImageEncoderInput.Load(encoderInput, settings.Loader.ImageSize, settings.VisionLayer, device);
        run.Logger.LogInformation(
            "Frozen image encoder from {Encoder}: {Width} wide, read after {Blocks} of {Depth} blocks, {Tokens} tokens per image",
            encoderInput.Name, encoder.Width, encoder.BlocksUsed, encoder.Config.Depth, encoder.Config.Tokens);

        var textInit = (await run.Inputs.FetchAsync("text_init", cancellationToken)).SingleOrDefault() is { } textInput ? Blip2TextInitInput.Load(textInput) : null;
        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        using var opened = data.Open(
            new BlipDataRequest([.. train.Select(input => input.Directory)], [.. eval.Select(input => input.Directory)], null, settings.Loader, settings.BadData)
            {
                Vocabulary = textInit?.Vocabulary,
            },
            TaskTraining.Layout(run));
        var qformer = textInit?.ShapeOf(settings.Model.Qformer) ?? settings.Model.Qformer;
        var config = settings.Model with
        {
            Qformer = qformer with { VocabSize = opened.VocabSize, PadTokenId = opened.Tokens.PadId, EncoderWidth = encoder.Width },
        };
        config.Qformer.Check();
        if (textInit is not null && settings.Loader.MaxTextLength > config.Qformer.MaxPositionEmbeddings)
        {
            throw new ArgumentException(
                $"max_text_length {settings.Loader.MaxTextLength} is more than the {config.Qformer.MaxPositionEmbeddings} positions of {textInit.Source}; use at most {config.Qformer.MaxPositionEmbeddings}");
        }

        using var trainer = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(
            _ =>
            {
                var model = new Blip2Stage1Model(config, opened.Tokens, settings.Trainer.Seed, device);
                var copied = textInit?.ApplyTo(model);
                if (copied is not null)
                {
                    run.Logger.LogInformation("Q-Former's text side from {TextInit}: {Tensors} tensors copied", textInit!.Source, copied);
                }

                return model;
            },
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);
        trainer.CheckGlobalBatch(opened.Shards[0].BatchSize);
        run.Logger.LogInformation(
            "Q-Former of {Parameters:N0} parameters, {Width} x {Layers}, over a vocabulary of {Vocabulary} tokens",
            trainer.Model.ParameterCount(), config.Qformer.HiddenSize, config.Qformer.Layers, opened.VocabSize);

        using var cache = settings.CacheImageFeatures ? await FrozenFeatureCache.OpenForRunAsync(run, encoderInput, encoder, train, settings.Loader, settings.BadData, cancellationToken) : null;
        var shards = opened.Shards
            .Select(shard => cache is null
                ? (IBatchSource<Blip2Stage1Batch>)new FrozenEncoderBatches(shard, encoder)
                : new CachedFeatureBatches(shard, cache, device))
            .ToList();
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, null, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        if (opened.Eval is { } evalSource)
        {
            var retrieval = BlipRetrievalEvaluation.Evaluate(
                new Blip2Retrieval(trainer.Model, encoder.Encode), evalSource.ReadEpochAsync(0, 0, cancellationToken).ToBlockingEnumerable(cancellationToken), settings.EvalTopK,
                TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in retrieval.Metrics())
            {
                metrics[name] = value;
            }

            run.Logger.LogInformation(
                "Retrieval on {Images} images and {Texts} captions: image→text R@1 {I2T:P1}, text→image R@1 {T2I:P1}",
                retrieval.Images, retrieval.Texts, retrieval.ImageToTextR1, retrieval.TextToImageR1);

            using var evalSet = BlipDataset.Open([.. eval.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
            var captioner = new Blip2Captioner(trainer.Model, encoder, BlipTokenizer.FromTokens(opened.Vocabulary), settings.Decoding);
            var captions = CaptionEvaluation.Evaluate(captioner, evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, null, SampleCaptions, TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in captions.Metrics())
            {
                metrics[name] = value;
            }

            run.Logger.LogInformation("Q-Former captions of {Images} images: BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}", captions.Images, captions.Bleu4, captions.CiderD);
            foreach (var sample in captions.Samples)
            {
                run.Logger.LogInformation("{Image}: \"{Generated}\" (reference: \"{Reference}\")", sample.Image, sample.Generated, sample.References[0]);
            }
        }

        if (cache is not null)
        {
            metrics["feature_cache_images"] = cache.Images;
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), opened.Vocabulary);
        Directory.CreateDirectory(Path.Combine(output, HfFolder));
        Blip2HfWeights.Export(trainer.Model, Path.Combine(output, HfFolder, "model.safetensors"));
        Blip2ImageEncoderInput.Record(output, encoderInput, encoder);
        return TaskResult.Checkpoint(output, metrics);
    }
}
