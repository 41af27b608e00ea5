using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Nlvr2;

/// <summary>How an NLVR2 finetune trains and reads its data.</summary>
public sealed record BlipNlvr2Settings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, image size and statement length; its batch size and seed are the trainer's.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>BLIP's augmentation: each training pair's images swapped with probability 1/2, "left" and "right" with them.</summary>
    public bool SwapImages { get; init; } = true;
}

/// <summary>
/// BLIP NLVR2 finetuning (LAVIS <c>blip_nlvr</c>, BLIP <c>train_nlvr.py</c>): the checkpoint of input <c>init</c> (a
/// pretrained BLIP, whose shape the model takes) as a <see cref="BlipNlvr2Model"/>, both cross-attentions of every layer
/// starting from its one, trained with cross-entropy on every NLVR2 split of input <c>train</c>, the swap augmentation on
/// unless turned off; resumes exactly from the run's checkpoint. The vocabulary is the checkpoint's, extended by the
/// statements' words it lacks. On input <c>eval</c>, when bound, reports the accuracy (and per statement kind) beside
/// <c>baseline_eval_nlvr2_accuracy</c>, the accuracy of always answering the training split's majority class. The output
/// holds the weights and the vocabulary.
/// </summary>
public sealed class BlipNlvr2Task(BlipNlvr2Settings settings)
{
    public const string Kind = "blip.finetune.nlvr2";

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var init = (await run.Inputs.FetchAsync("init", cancellationToken)).SingleOrDefault();
        var (initModel, tokens) = BlipInitCheckpoint.Read(init, settings.Loader.ImageSize);
        var initVocabulary = BlipInitCheckpoint.Vocabulary(init!);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        using var trainSet = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([.. train.Select(input => input.Directory)], "train"), settings.BadData);
        using var evalSet = eval.Count > 0 ? Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([.. eval.Select(input => input.Directory)], "eval"), settings.BadData) : null;

        // The swap puts "left" where "right" was: both words are in the vocabulary whenever either is.
        var sentences = trainSet.Samples.Select(sample => Nlvr2DataLoader.PrepareSentence(sample.Sentence)).ToList();
        var vocabulary = BlipVocabulary.Extend(initVocabulary, sentences.Concat(sentences.Select(Nlvr2DataLoader.SwapLeftRight)));
        var tokenizer = BlipTokenizer.FromTokens(vocabulary);
        run.Logger.LogInformation(
            "NLVR2 on {Examples} training statements; vocabulary {Known} tokens of {Init} and {New} new ones from the statements",
            trainSet.Count, initVocabulary.Count, init!.Name, vocabulary.Count - initVocabulary.Count);

        var config = initModel with { Text = initModel.Text with { VocabSize = vocabulary.Count } };
        using var trainer = new Trainer<BlipNlvr2Model, BlipNlvr2Batch>(
            _ => new BlipNlvr2Model(config, tokens, settings.Trainer.Seed, device), settings.Trainer, TaskTraining.Replicas(run), run.Gang);

        var layout = TaskTraining.Layout(run);
        var shardLoader = settings.Loader with { BatchSize = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout) };
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<BlipNlvr2Batch>)Nlvr2DataLoader.ForTraining(trainSet, tokenizer, shardLoader, settings.SwapImages, rank, layout.WorldSize))
            .ToList();
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, init, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        if (evalSet is not null)
        {
            var result = Evaluate(trainer.Model, tokenizer, evalSet, settings.Loader, TaskPulse.Of(run, cancellationToken));
            var labels = evalSet.Samples.Select(sample => sample.Label).ToList();
            foreach (var (name, value) in result.Metrics())
            {
                metrics[name] = value;
            }

            var majority = Nlvr2Accuracy.MajorityClass(trainSet.Samples.Select(sample => sample.Label));
            var baseline = Nlvr2Accuracy.Evaluate(labels, [.. labels.Select(_ => majority)]);
            metrics["baseline_eval_nlvr2_accuracy"] = baseline.Accuracy;
            run.Logger.LogInformation(
                "NLVR2 on {Examples} statements: accuracy {Accuracy:P1}; always '{Majority}' (the training majority) {Baseline:P1}",
                result.Examples, result.Accuracy, majority, baseline.Accuracy);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), vocabulary);
        return TaskResult.Checkpoint(output, metrics);
    }

    /// <summary>
    /// Judges every statement of <paramref name="dataset"/> in order (read as <paramref name="loader"/> says, no swap) and
    /// scores the judgements: accuracy, and per kind of statement where the data records it.
    /// </summary>
    public static Nlvr2EvaluationResult Evaluate(BlipNlvr2Model model, BlipTokenizer tokenizer, Nlvr2Dataset dataset, LoaderSettings loader, TaskPulse pulse)
    {
        var predictions = Predict(model, Nlvr2DataLoader.ForEvaluation(dataset, tokenizer, loader), pulse);
        return Nlvr2Accuracy.Evaluate([.. dataset.Samples.Select(sample => sample.Label)], predictions, [.. dataset.Samples.Select(sample => sample.Kind)]);
    }

    /// <summary>Whether the model takes each statement of <paramref name="loader"/>'s split to be true, in order; eval mode, no gradients.</summary>
    public static IReadOnlyList<bool> Predict(BlipNlvr2Model model, Nlvr2DataLoader loader, TaskPulse pulse = default)
    {
        var wasTraining = model.IsTraining;
        model.SetTraining(false);
        try
        {
            var predictions = new List<bool>(loader.Sampler.DatasetSize);
            for (var batch = 0; batch < loader.BatchesPerEpoch; batch++)
            {
                pulse.Beat();
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                using var data = loader.LoadBatch(0, batch);
                var logits = model.Logits(data.LeftImages, data.RightImages, data.TextIds, data.TextMask); // (B, 2)
                predictions.AddRange(logits.argmax(1).cpu().data<long>().ToArray().Select(label => label == 1));
            }

            return predictions;
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }
}
