using System.Text.Json;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Vqa;

/// <summary>How a VQA finetune trains, reads its data and answers the evaluation questions.</summary>
public sealed record BlipVqaSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, image size and question length; its batch size and seed are the trainer's.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>The answer loss's label smoothing (BLIP: 0.1, in ranking too).</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Ranking or generation, and their sizes; its <c>MaxLength</c> also caps the training answers.</summary>
    public VqaAnsweringSettings Answering { get; init; } = new();
}

/// <summary>
/// BLIP VQA finetuning (LAVIS <c>blip_vqa</c>, BLIP <c>train_vqa.py</c>): the checkpoint of input <c>init</c> (a pretrained
/// BLIP, whose shape the model takes) as a <see cref="BlipVqaModel"/>, trained on every VQA split of input <c>train</c>
/// with each question's answers weighted by their share of the annotators; resumes exactly from the run's checkpoint. The
/// vocabulary is the checkpoint's, extended by the words of the training questions and answers and of the candidate
/// answers it lacks (<see cref="BlipVocabulary.Extend"/>, new embedding rows start fresh). On input <c>eval</c>, when
/// bound, answers every question (ranking the candidate list, or generating) and reports the official VQA accuracy
/// beside two baselines that never see the image: <c>baseline_eval_vqa_accuracy</c>, the training majority answer for
/// every question, and <c>baseline_type_prior_eval_vqa_accuracy</c>, the majority answer of the question's type. The
/// output holds the weights, the vocabulary, the candidate list and sample answers.
/// </summary>
public sealed class BlipVqaTask(BlipVqaSettings settings)
{
    public const string Kind = "blip.finetune.vqa";

    /// <summary>What the output records of how it answers: the method and the candidate list (<c>vqa.json</c>).</summary>
    public const string VqaFile = VqaCheckpoint.AnsweringFile;

    /// <summary>Sample answers of the evaluation split.</summary>
    public const string SamplesFile = "samples.json";

    private const int SampleAnswers = 10;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var init = (await run.Inputs.FetchAsync("init", cancellationToken)).SingleOrDefault();
        var (initModel, tokens) = BlipInitCheckpoint.Read(init, settings.Loader.ImageSize);
        var initVocabulary = BlipInitCheckpoint.Vocabulary(init!);
        if (settings.Answering.MaxLength < 3)
        {
            throw new ArgumentException($"max_answer_length {settings.Answering.MaxLength} leaves no room for an answer between [DEC] and [SEP]; raise it to 3 or more");
        }

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        using var trainSet = VqaDataset.Open(Sources(train, "train"), settings.BadData);
        using var evalSet = eval.Count > 0 ? VqaDataset.Open(Sources(eval, "eval"), settings.BadData) : null;
        var candidates = AnswerList(eval, train, trainSet);

        // The checkpoint's vocabulary, and the words of the questions and answers it has never seen.
        var vocabulary = BlipVocabulary.Extend(
            initVocabulary,
            trainSet.Samples.SelectMany(sample => sample.Answers.Prepend(VqaDataLoader.PrepareQuestion(sample.Question))).Concat(candidates));
        var tokenizer = BlipTokenizer.FromTokens(vocabulary);
        run.Logger.LogInformation(
            "VQA on {Questions} training questions; vocabulary {Known} tokens of {Init} and {New} new ones from the questions and answers",
            trainSet.Count, initVocabulary.Count, init!.Name, vocabulary.Count - initVocabulary.Count);

        var config = initModel with { LabelSmoothing = settings.LabelSmoothing, Text = initModel.Text with { VocabSize = vocabulary.Count } };
        using var trainer = new Trainer<BlipVqaModel, BlipVqaBatch>(
            _ => new BlipVqaModel(config, tokens, settings.Trainer.Seed, device), settings.Trainer, TaskTraining.Replicas(run), run.Gang);

        var layout = TaskTraining.Layout(run);
        var shardLoader = settings.Loader with { BatchSize = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout) };
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<BlipVqaBatch>)VqaDataLoader.ForTraining(trainSet, tokenizer, shardLoader, settings.Answering.MaxLength, rank, layout.WorldSize))
            .ToList();
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, init, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        IReadOnlyList<VqaSampleAnswer> samples = [];
        if (evalSet is not null)
        {
            samples = Evaluate(run, trainer.Model, tokenizer, trainSet, evalSet, candidates, metrics, cancellationToken);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), vocabulary);
        VqaCheckpoint.WriteAnswering(output, settings.Answering.Method, settings.Answering.MaxLength, candidates);
        if (samples.Count > 0)
        {
            File.WriteAllText(Path.Combine(output, SamplesFile), JsonSerializer.Serialize(samples, Json));
        }

        return TaskResult.Checkpoint(output, metrics);
    }

    /// <summary>Every VQA split of every dataset bound to <paramref name="input"/>.</summary>
    internal static List<VqaDatasetSource> Sources(IReadOnlyList<InputFolder> folders, string input)
    {
        var sources = new List<VqaDatasetSource>();
        foreach (var folder in folders)
        {
            var splits = VqaDataset.Splits(folder.Directory);
            if (splits.Count == 0)
            {
                throw new InvalidDataException(
                    $"input {input} ({folder.Name}) holds no VQA split; bind a dataset.synthetic output with vqa_questions above 0, or a dataset.import with format: vqa");
            }

            sources.AddRange(splits.Select(split => VqaDatasetSource.Split(folder.Directory, split)));
        }

        return sources;
    }

    /// <summary>
    /// The candidates ranking chooses from (LAVIS's <c>answer_list.json</c>): those of the evaluation datasets, else of the
    /// training datasets, else the training answers, most frequent first; each once, in order.
    /// </summary>
    private static List<string> AnswerList(IReadOnlyList<InputFolder> eval, IReadOnlyList<InputFolder> train, VqaDataset trainSet)
    {
        foreach (var folders in new[] { eval, train })
        {
            var lists = folders.Select(folder => VqaDataset.ReadAnswerList(folder.Directory)).OfType<IReadOnlyList<string>>().ToList();
            if (lists.Count > 0)
            {
                return [.. lists.SelectMany(list => list).Distinct(StringComparer.Ordinal)];
            }
        }

        return [.. trainSet.Samples.SelectMany(sample => sample.Answers).GroupBy(answer => answer, StringComparer.Ordinal)
            .OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal).Select(group => group.Key)];
    }

    private IReadOnlyList<VqaSampleAnswer> Evaluate(
        TaskRun run, BlipVqaModel model, BlipTokenizer tokenizer, VqaDataset trainSet, VqaDataset evalSet, IReadOnlyList<string> candidates,
        Dictionary<string, double> metrics, CancellationToken cancellationToken)
    {
        using var answerer = new VqaAnswerer(model, tokenizer, settings.Answering, settings.Loader.MaxTextLength, candidates);
        var (result, truths) = answerer.Evaluate(evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, TaskPulse.Of(run, cancellationToken));
        foreach (var (name, value) in result.Metrics())
        {
            metrics[name] = value;
        }

        // Baselines that never see the image: the training majority answer, and the majority answer of the question's type.
        var majority = VqaBaselines.MajorityAnswer(trainSet.Samples.Select(sample => sample.Answers));
        var baseline = VqaAccuracy.Evaluate(truths, [.. truths.Select(_ => majority)]);
        foreach (var (name, value) in baseline.Metrics())
        {
            metrics["baseline_" + name] = value;
        }

        var perType = VqaBaselines.MajorityAnswerPerType(trainSet.Samples.Select(sample => (sample.QuestionType, sample.Answers)));
        if (perType.Count > 0)
        {
            var prior = VqaAccuracy.Evaluate(truths, [.. evalSet.Samples.Select(sample => sample.QuestionType is { } type && perType.TryGetValue(type, out var answer) ? answer : majority)]);
            metrics["baseline_type_prior_eval_vqa_accuracy"] = prior.Accuracy;
        }

        run.Logger.LogInformation(
            "VQA ({Method}) on {Questions} questions: accuracy {Accuracy:P1}; majority answer '{Majority}' {Baseline:P1}",
            settings.Answering.Method, result.Questions, result.Accuracy, majority, baseline.Accuracy);
        var samples = result.PerQuestion.Take(SampleAnswers)
            .Select((score, i) => new VqaSampleAnswer(score.Question.QuestionId, evalSet.Samples[i].Question, score.Prediction, score.Question.Answers, score.Accuracy))
            .ToList();
        foreach (var sample in samples)
        {
            run.Logger.LogInformation("Q{Id} \"{Question}\": \"{Prediction}\" (answers: {Answers})", sample.QuestionId, sample.Question, sample.Prediction, string.Join(", ", sample.Answers.Distinct()));
        }

        return samples;
    }

    private sealed record VqaSampleAnswer(long QuestionId, string Question, string Prediction, IReadOnlyList<string> Answers, double Accuracy);
}
