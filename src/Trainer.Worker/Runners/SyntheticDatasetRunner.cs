using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data.Synthetic;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>dataset.synthetic</c>: plans the whole dataset from the seed, then renders and commits its splits
/// (<c>web</c>, <c>human</c>, <c>test</c>) one by one, reporting progress in images. Nothing is worth a checkpoint
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

            var splitMetrics = split.Metrics();
            outputs[split.Name] = await context.CommitOutputAsync(split.Name, directory, splitMetrics, cancellationToken);
            foreach (var (name, value) in splitMetrics)
            {
                metrics[$"{split.Name}_{name}"] = value;
            }

            context.Logger.LogInformation("Split {Split}: {Images} images, {Corrupted} corrupted captions, committed as {Artifact}",
                split.Name, split.Items.Count, split.Corruptions.Count, outputs[split.Name].Uri);
        }

        metrics["vocab_size"] = dataset.Vocabulary.Count;
        return new StageRunResult { Outputs = outputs, Metrics = metrics };
    }
}
