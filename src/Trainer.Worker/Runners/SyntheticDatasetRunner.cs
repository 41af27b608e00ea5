using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Evaluation;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>dataset.synthetic</c>: plans the whole dataset from the seed, then renders and commits its splits
/// (<c>web</c>, <c>human</c>, <c>test</c>) one by one, reporting progress in images; with <c>vqa_questions</c> above 0
/// each split also carries its VQA questions (<see cref="SyntheticSplit"/>). Nothing is worth a checkpoint
/// (the same seed renders the same bytes again quickly), so a cancelled run just stops.
/// </summary>
public sealed class SyntheticDatasetRunner : IStageRunner
{
    public string Kind => "dataset.synthetic";

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<SyntheticDatasetOptions>();
        var dataset = SyntheticDataset.Plan(BlipOptionsMapping.Synthetic(options));
        var total = dataset.Splits.Sum(split => split.Items.Count);
        var done = 0;
        var outputs = new Dictionary<string, ArtifactReference>(StringComparer.Ordinal);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var split in dataset.Splits)
        {
            var directory = Path.Combine(context.WorkDirectory, split.Name);
            var before = done;
            await split.WriteAsync(directory, dataset.Vocabulary, written => context.ReportProgressAsync(before + written, total), cancellationToken);
            done += split.Items.Count;

            var splitMetrics = WithOracleAccuracy(split);
            outputs[split.Name] = await context.CommitOutputAsync(split.Name, directory, splitMetrics, cancellationToken);
            foreach (var (name, value) in splitMetrics)
            {
                metrics[$"{split.Name}_{name}"] = value;
            }

            context.Logger.LogInformation("Split {Split}: {Images} images, {Corrupted} corrupted captions, {Questions} VQA questions, committed as {Artifact}",
                split.Name, split.Items.Count, split.Corruptions.Count, split.Questions.Count, outputs[split.Name].Uri);
        }

        metrics["vocab_size"] = dataset.Vocabulary.Count;
        return new StageRunResult { Outputs = outputs, Metrics = metrics };
    }

    /// <summary>
    /// The split's metrics and, with VQA, <c>vqa_oracle_accuracy</c>: the VQA accuracy of always answering the true
    /// answer against the annotators, the ceiling a perfect model reaches under the split's disagreement.
    /// </summary>
    private static Dictionary<string, double> WithOracleAccuracy(SyntheticSplit split)
    {
        var metrics = new Dictionary<string, double>(split.Metrics(), StringComparer.Ordinal);
        if (split.Questions.Count > 0)
        {
            var truths = split.Questions.Select(question => new VqaGroundTruth(question.QuestionId, question.Answers, question.QuestionType, question.AnswerType)).ToList();
            metrics["vqa_oracle_accuracy"] = VqaAccuracy.Evaluate(truths, [.. split.Questions.Select(question => question.Answer)]).Accuracy;
        }

        return metrics;
    }
}
