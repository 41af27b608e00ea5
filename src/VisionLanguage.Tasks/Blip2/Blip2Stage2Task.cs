using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// BLIP-2 stage 2 (LAVIS <c>Blip2OPT</c>, <c>Blip2T5</c> with the image-text pretrain task): the Q-Former of input
/// <c>qformer</c> (a stage-1 checkpoint, trimmed of its text-only parts), over the frozen image encoder of input
/// <c>image_encoder</c> (the one stage 1 recorded), read as stage 1 read it, projected into the frozen LLM of input
/// <c>llm</c> as a soft visual prompt, trained on the captions of input <c>train</c> by the LLM's language-modelling loss;
/// resumes exactly. At the end it captions input <c>eval</c>'s images and answers input <c>vqa_eval</c>'s questions
/// zero-shot through the LLM, each also without the soft prompt: the <c>baseline</c> metrics the visual prompt is
/// judged against. The output holds the Q-Former side and a record of the three artifacts it was built from
/// (<see cref="SourcesFile"/>) and how the encoder was read (<see cref="Blip2ImageEncoderInput.FileName"/>, as stage 1
/// records it, so that a finetune can rebuild it), not their weights.
/// </summary>
public sealed class Blip2Stage2Task(Blip2Stage2Settings settings)
{
    public const string Kind = "blip2.stage2";

    /// <summary>What the output records of its stage-1 Q-Former, frozen encoder and frozen LLM: names and content digests.</summary>
    public const string SourcesFile = "stage2_sources.json";

    private const int SampleCaptions = 5;

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var qformerInput = await SingleAsync(run, "qformer", "a blip2.stage1 output", cancellationToken);
        var encoderInput = await SingleAsync(run, "image_encoder", "the image encoder the Q-Former was trained against in stage 1", cancellationToken);
        var llmInput = await SingleAsync(run, "llm", "a model.import of an opt or t5 checkpoint, or an llm.pretrain output", cancellationToken);
        var stage1 = Stage1Checkpoint.Read(qformerInput);
        using var encoder = stage1.LoadEncoder(encoderInput, settings.Loader.ImageSize, device);
        var (_, tokenizer) = LlmInput.Tokenizer(llmInput);
        var texts = new LlmTexts(tokenizer, settings.Prompt, settings.EndToken, settings.PrefixLm, settings.Loader.MaxTextLength);
        run.Logger.LogInformation(
            "Stage 2: Q-Former {Width} x {Layers} of {Qformer}, {Queries} queries, over {Encoder} ({Blocks} blocks), into the frozen {Architecture} {Llm}",
            stage1.Qformer.HiddenSize, stage1.Qformer.Layers, qformerInput.Name, stage1.Qformer.QueryTokens, encoderInput.Name, encoder.BlocksUsed, tokenizer.Architecture, llmInput.Name);

        using var trainer = new Trainer<Blip2Stage2Model, Blip2Stage2Batch>(
            _ =>
            {
                var (llm, _) = LlmInput.Load(llmInput, FrozenPrecision.For(device, settings.LlmDtype), device, exactGelu: true);
                var model = new Blip2Stage2Model(new Blip2Stage2Config(stage1.Qformer, llm.Architecture, llm.Width), llm, settings.Trainer.Seed, device);
                model.LoadStage1(stage1.WeightsPath);
                return model;
            },
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);
        var trainableShare = trainer.Model.TrainableShare();
        run.Logger.LogInformation("Trainable share of parameters: {Share:P2} (the LLM's are frozen)", trainableShare);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        using var trainSet = BlipDataset.Open([.. train.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
        using var cache = settings.CacheImageFeatures
            ? await FrozenFeatureCache.OpenForRunAsync(run, encoderInput, encoder, train, settings.Loader, settings.BadData, cancellationToken)
            : null;
        var captions = BlipTokenizer.FromTokens(BlipVocabulary.ForDatasets([.. train.Select(input => input.Directory)], trainSet.Samples.Select(sample => sample.Caption)));
        var layout = TaskTraining.Layout(run);
        var shardLoader = settings.Loader with { BatchSize = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout) };
        Func<BlipBatch, Tensor> features = cache is null ? batch => encoder.Encode(batch.Images) : batch => cache.Lookup(batch.ImageIds, device);
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<Blip2Stage2Batch>)new Stage2Batches(BlipDataLoader.ForTraining(trainSet, captions, shardLoader, rank, layout.WorldSize), texts, features))
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
            await EvaluateCaptionsAsync(run, summary, trainer.Model, encoder, texts, evalSet, metrics, cancellationToken);
        }

        var vqa = await run.Inputs.FetchAsync("vqa_eval", cancellationToken);
        if (vqa.Count > 0)
        {
            var sources = vqa.SelectMany(input => VqaDataset.Splits(input.Directory).Select(split => VqaDataset.SourceOf(input.Directory, split))).ToList();
            if (sources.Count == 0)
            {
                throw new InvalidDataException($"input vqa_eval ({string.Join(", ", vqa.Select(input => input.Name))}) holds no VQA split; bind a dataset.synthetic output with vqa_questions above 0 or a dataset.import with format vqa");
            }

            using var questions = VqaDataset.Open(sources, settings.BadData);
            await EvaluateVqaAsync(run, summary, trainer.Model, encoder, texts, questions, metrics, cancellationToken);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        RecordSources(output, qformerInput, encoderInput, llmInput);
        Blip2ImageEncoderInput.Record(output, encoderInput, encoder);
        new Blip2Finetunes.Blip2LlmEvaluation(
            Blip2Finetunes.Blip2LlmEvaluation.Caption, settings.CaptionPrompt, settings.EndToken, settings.Loader.MaxTextLength, settings.LlmDtype, settings.Captioning).Write(output);
        return TaskResult.Checkpoint(output, metrics);
    }

    private static async Task<InputFolder> SingleAsync(TaskRun run, string input, string what, CancellationToken cancellationToken) =>
        (await run.Inputs.FetchAsync(input, cancellationToken)).SingleOrDefault()
        ?? throw new InvalidOperationException($"blip2.stage2 needs input {input}; bind it to {what}");

    /// <summary>
    /// Reports the evaluation's generation throughput as progress (beside the last step's metrics), so that the worker's
    /// series shows it while the run evaluates.
    /// </summary>
    private static Task ReportGenerationAsync(TaskRun run, TrainingSummary summary, double tokensPerSecond)
    {
        var metrics = new Dictionary<string, double>(summary.LastStep?.Metrics() ?? new Dictionary<string, double>())
        {
            [ProgressMetricKeys.GenerationTokensPerSecond] = tokensPerSecond,
        };
        return run.Progress.ReportAsync(new TaskProgress(summary.Position.Step, summary.TotalSteps, summary.LastStep?.Epoch, metrics));
    }

    private async Task EvaluateCaptionsAsync(
        TaskRun run, TrainingSummary summary, Blip2Stage2Model model, FrozenImageEncoder encoder, LlmTexts texts, BlipDataset evalSet, Dictionary<string, double> metrics, CancellationToken cancellationToken)
    {
        foreach (var visual in new[] { true, false })
        {
            var captioner = new Blip2LlmCaptioner(model, encoder, texts, settings.CaptionPrompt, settings.Captioning, visual);
            var result = CaptionEvaluation.Evaluate(captioner, evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, null, SampleCaptions, TaskPulse.Of(run, cancellationToken));
            var prefix = visual ? "" : "baseline_";
            foreach (var (name, value) in result.Metrics())
            {
                metrics[prefix + name] = value;
            }

            metrics[prefix + "eval_caption_tokens_per_second"] = captioner.Throughput;
            await ReportGenerationAsync(run, summary, captioner.Throughput);
            run.Logger.LogInformation(
                "{Which} captions of {Images} images: BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}, {Throughput:F1} tokens/s",
                visual ? "LLM" : "Baseline (no visual prompt)", result.Images, result.Bleu4, result.CiderD, captioner.Throughput);
            foreach (var sample in result.Samples)
            {
                run.Logger.LogInformation("{Image}: \"{Generated}\" (reference: \"{Reference}\")", sample.Image, sample.Generated, sample.References[0]);
            }
        }
    }

    private async Task EvaluateVqaAsync(
        TaskRun run, TrainingSummary summary, Blip2Stage2Model model, FrozenImageEncoder encoder, LlmTexts texts, VqaDataset questions, Dictionary<string, double> metrics, CancellationToken cancellationToken)
    {
        var prompt = settings.VqaPrompt ?? VqaPrompts.For(model.Llm.Architecture);
        var transform = ImageTransform.Eval(settings.Loader.ImageSize);
        var truths = questions.Samples.Select(sample => new VqaGroundTruth(sample.QuestionId, sample.Answers, sample.QuestionType, sample.AnswerType)).ToList();
        var pulse = TaskPulse.Of(run, cancellationToken);
        foreach (var visual in new[] { true, false })
        {
            var answerer = new Blip2LlmCaptioner(model, encoder, texts, prompt, settings.Vqa, visual);
            var predictions = new List<string>(questions.Count);
            foreach (var chunk in questions.Samples.Chunk(settings.Loader.BatchSize))
            {
                pulse.Beat();
                using var scope = NewDisposeScope();
                var images = questions.LoadImages([.. chunk.Select(sample => sample.ImageId)], transform);
                predictions.AddRange(answerer.Answer(images, [.. chunk.Select(sample => VqaPrompts.Format(prompt, sample.Question))]));
            }

            var result = VqaAccuracy.Evaluate(truths, predictions);
            await ReportGenerationAsync(run, summary, answerer.Throughput);
            var prefix = visual ? "" : "baseline_";
            foreach (var (name, value) in result.Metrics())
            {
                metrics[prefix + name] = value;
            }

            run.Logger.LogInformation(
                "{Which} zero-shot VQA on {Questions} questions: accuracy {Accuracy:P1}", visual ? "LLM" : "Baseline (question only)", questions.Count, result.Accuracy);
            foreach (var score in result.PerQuestion.Take(SampleCaptions))
            {
                run.Logger.LogInformation("Q{Id}: \"{Prediction}\" (answers: {Answers})", score.Question.QuestionId, score.Prediction, string.Join(", ", score.Question.Answers.Distinct()));
            }
        }
    }

    private static void RecordSources(string output, InputFolder qformer, InputFolder encoder, InputFolder llm)
    {
        var sources = new JsonObject();
        foreach (var (role, input) in new[] { ("qformer", qformer), ("image_encoder", encoder), ("llm", llm) })
        {
            sources[role] = new JsonObject { ["artifact"] = input.Name, ["content_digest"] = input.ContentDigest };
        }

        File.WriteAllText(Path.Combine(output, SourcesFile), sources.ToJsonString(BlipCheckpointDescription.Json));
    }
}
