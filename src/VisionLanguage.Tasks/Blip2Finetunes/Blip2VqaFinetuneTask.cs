using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Llm;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Llm;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// The BLIP-2 VQA finetune. LAVIS never released it (issues #186, #204, #409, #688); this follows the paper (§4.3: the
/// Q-Former and image encoder trained, the LLM frozen, the question also given to the Q-Former, whose queries attend to it
/// through self-attention) the way InstructBLIP's public code does it (<c>qformer_text_input</c>: one Q-Former pass over
/// <c>[queries ; question]</c> with the padding mask, only the query outputs projected). Stage 2 trimmed the Q-Former's
/// text side (word and position embeddings, text feed-forwards), so it is taken from the stage-1 Q-Former of input
/// <c>qformer</c> (the one the init records), with that Q-Former's vocabulary for the question; everything else from the
/// stage-2 model of input <c>init</c>. The LLM learns the answer most annotators gave after "Question: {} Answer:".
/// At the end it answers input <c>eval</c>'s questions (beam 5, length penalty −1) and
/// scores them with the VQA accuracy, beside the majority-answer baseline.
/// </summary>
public sealed class Blip2VqaFinetuneTask(Blip2VqaFinetuneSettings settings)
{
    public const string Kind = "blip2.finetune.vqa";

    private const int SampleAnswers = 5;

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var initInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "init", "a blip2.stage2 output", cancellationToken);
        var qformerInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "qformer", "the blip2.stage1 output the init was trained from", cancellationToken);
        var encoderInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "image_encoder", "the image encoder the init's Q-Former was trained against", cancellationToken);
        var llmInput = await Blip2FinetuneInputs.SingleAsync(run, Kind, "llm", "the frozen LLM the init was trained into", cancellationToken);
        var init = Blip2LlmCheckpoint.Read(initInput);
        init.CheckSource("llm", llmInput);
        init.CheckSource("qformer", qformerInput);
        var stage1 = Stage1Checkpoint.Read(qformerInput);
        if (stage1.Qformer != init.Qformer with { QueriesOnly = true })
        {
            throw new ArgumentException(
                $"input qformer ({qformerInput.Name}) is a Q-Former of another shape than {init.Source}'s; bind qformer to the stage-1 output it records ({init.SourceName("qformer")})");
        }

        var config = init.FinetuneConfig(init.Qformer with { QueriesOnly = false }, encoderInput, settings.Loader.ImageSize, out var encoderWeights);
        var questions = BlipTokenizer.FromVocabFile(Path.Combine(qformerInput.Directory, BlipVocabulary.FileName));
        var (_, tokenizer) = LlmInput.Tokenizer(llmInput);
        var examples = new VqaLlmExamples(tokenizer, settings.Prompt ?? VqaPrompts.DecoderOnly, settings.EndToken, settings.Loader.MaxTextLength);
        run.Logger.LogInformation(
            "VQA finetune of {Init}: the question also to the Q-Former (text side from {Stage1}), its encoder from {Encoder} trained, into the frozen {Architecture} {Llm}",
            initInput.Name, qformerInput.Name, encoderInput.Name, config.Llm, llmInput.Name);

        using var trainer = new Trainer<Blip2LlmFinetuneModel, Blip2LlmFinetuneBatch>(
            _ =>
            {
                var (llm, _) = LlmInput.Load(llmInput, FrozenPrecision.For(device, settings.LlmDtype), device, exactGelu: true);
                var model = new Blip2LlmFinetuneModel(config, llm, settings.Trainer.Seed, device);
                model.LoadSources([encoderWeights, stage1.WeightsPath, init.WeightsPath], "bind init to a blip2.stage2 output, qformer to the stage-1 output and image_encoder to the encoder it records");
                return model;
            },
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        using var trainSet = OpenVqa(train, "train");
        var layout = TaskTraining.Layout(run);
        var batchPerReplica = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout);
        var loader = settings.Loader;
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<Blip2LlmFinetuneBatch>)new VqaFinetuneBatches(
                trainSet,
                new DistributedSampler(trainSet.Count, batchPerReplica, loader.Seed, rank, layout.WorldSize, shuffle: true, dropLast: true),
                ImageTransform.Train(loader.ImageSize, loader.CropMinScale, loader.CropMaxScale, loader.HorizontalFlip, loader.Seed),
                loader.ImageSize, questions, settings.MaxQuestionLength, examples))
            .ToList();
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, null, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        metrics[ProgressMetricKeys.TrainableShare] = trainer.Model.TrainableShare();
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        if (eval.Count > 0)
        {
            using var evalSet = OpenVqa(eval, "eval");
            Evaluate(run, trainer.Model, examples, questions, trainSet, evalSet, metrics, cancellationToken);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        init.CarryRecords(output);
        new Blip2LlmEvaluation(Blip2LlmEvaluation.Vqa, examples.Prompt, settings.EndToken, settings.Loader.MaxTextLength, settings.LlmDtype, settings.Answering, settings.MaxQuestionLength)
            .Write(output);
        BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), File.ReadAllLines(Path.Combine(qformerInput.Directory, BlipVocabulary.FileName)));
        return TaskResult.Checkpoint(output, metrics);
    }

    private VqaDataset OpenVqa(IReadOnlyList<InputFolder> inputs, string name)
    {
        var sources = inputs.SelectMany(input => VqaDataset.Splits(input.Directory).Select(split => VqaDataset.SourceOf(input.Directory, split))).ToList();
        return sources.Count == 0
            ? throw new InvalidDataException(
                $"input {name} ({string.Join(", ", inputs.Select(input => input.Name))}) holds no VQA split; bind a dataset.synthetic output with vqa_questions above 0 or a dataset.import with format vqa")
            : VqaDataset.Open(sources, settings.BadData);
    }

    private void Evaluate(
        TaskRun run, Blip2LlmFinetuneModel model, VqaLlmExamples examples, BlipTokenizer questions, VqaDataset trainSet, VqaDataset evalSet, Dictionary<string, double> metrics,
        CancellationToken cancellationToken)
    {
        var result = Score(
            model, examples, questions, settings.MaxQuestionLength, settings.Answering, evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, TaskPulse.Of(run, cancellationToken));
        var truths = result.PerQuestion.Select(score => score.Question).ToList();
        foreach (var (name, value) in result.Metrics())
        {
            metrics[name] = value;
        }

        // The baseline: the training questions' most common answer, given to every question.
        var majority = trainSet.Samples.SelectMany(sample => sample.Answers).GroupBy(answer => answer).OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal).First().Key;
        var baseline = VqaAccuracy.Evaluate(truths, [.. Enumerable.Repeat(majority, truths.Count)]);
        metrics["baseline_eval_vqa_accuracy"] = baseline.Accuracy;
        run.Logger.LogInformation(
            "VQA on {Questions} questions: accuracy {Accuracy:P1}; answering \"{Majority}\" to every question: {Baseline:P1}", evalSet.Count, result.Accuracy, majority, baseline.Accuracy);
        foreach (var score in result.PerQuestion.Take(SampleAnswers))
        {
            run.Logger.LogInformation("Q{Id}: \"{Prediction}\" (answers: {Answers})", score.Question.QuestionId, score.Prediction, string.Join(", ", score.Question.Answers.Distinct()));
        }
    }

    /// <summary>
    /// Answers every question of <paramref name="evalSet"/> in batches of <paramref name="batchSize"/> as the finetune
    /// evaluates (the question to the Q-Former in its own tokens, at most <paramref name="maxQuestionLength"/>, and
    /// prompted to the LLM; images at <paramref name="imageSize"/> under the evaluation transform) and scores the answers
    /// with the VQA accuracy. <c>evaluate</c> runs the same on a VQA finetune's checkpoint.
    /// </summary>
    public static VqaEvaluationResult Score(
        Blip2LlmFinetuneModel model, VqaLlmExamples examples, BlipTokenizer questions, int maxQuestionLength, LlmDecodingSettings answering, VqaDataset evalSet,
        int imageSize, int batchSize, TaskPulse pulse)
    {
        var transform = ImageTransform.Eval(imageSize);
        var truths = evalSet.Samples.Select(sample => new VqaGroundTruth(sample.QuestionId, sample.Answers, sample.QuestionType, sample.AnswerType)).ToList();
        var answerer = new Blip2FinetuneCaptioner(model, examples.Texts, examples.Prompt, answering);
        var predictions = new List<string>(evalSet.Count);
        foreach (var chunk in evalSet.Samples.Chunk(batchSize))
        {
            pulse.Beat();
            using var scope = NewDisposeScope();
            var images = evalSet.LoadImages([.. chunk.Select(sample => sample.ImageId)], transform);
            var (ids, mask) = VqaFinetuneBatches.Padded([.. chunk.Select(sample => questions.Encode(sample.Question, maxQuestionLength))], questions.PadId);
            predictions.AddRange(answerer.Answer(images, [.. chunk.Select(sample => examples.Prompted(sample.Question))], (ids, mask)));
        }

        return VqaAccuracy.Evaluate(truths, predictions);
    }
}
