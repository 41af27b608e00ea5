using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Agent;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Testing;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

public sealed class BlipPretrainRunnerTests : IDisposable
{
    private const string OptionsJson = """
        {"image_size":16,"patch_size":8,"vision_width":32,"vision_depth":1,"vision_heads":2,"text_width":32,"text_layers":1,
         "text_heads":2,"embed_dim":16,"max_text_length":8,"epochs":1,"batch_size":4,"queue_size":16,"checkpoint_every_steps":2,
         "warmup_steps":1,"eval_top_k":4}
        """;

    private readonly string _root = Directory.CreateTempSubdirectory("blip-runner-").FullName;
    private readonly ConcurrentQueue<object> _published = new();
    private readonly TempFolderArtifactStore _store;

    private readonly ArtifactReference _train;

    public BlipPretrainRunnerTests()
    {
        _store = new TempFolderArtifactStore(Path.Combine(_root, "store"), TimeProvider.System);
        // The task fetches its input folders and hands them to the data side; the stand-in data side ignores them.
        var train = Directory.CreateDirectory(Path.Combine(_root, "train")).FullName;
        File.WriteAllText(Path.Combine(train, "stand-in.txt"), "batches come from SyntheticData");
        _train = _store.CommitAsync(
            new ArtifactDraft { Type = "dataset", ExperimentId = "exp-1", StageId = "data", RunId = "data-1", Name = "train", OptionsHash = "" },
            train, CancellationToken.None).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task A_run_reports_progress_saves_checkpoints_evaluates_and_commits_the_weights_and_a_resumed_run_ends_identical()
    {
        var runner = new BlipPretrainRunner(new SyntheticData());

        var result = await runner.RunAsync(Context("run-1", resumeFrom: null), CancellationToken.None);

        var progress = _published.OfType<StageRunProgressed>().ToList();
        Assert.Equal([1L, 2L, 3L, 4L], progress.Select(report => report.Step));
        Assert.All(progress, report => Assert.Contains("loss_itc", report.Metrics.Keys));
        var saved = _published.OfType<CheckpointSaved>().Select(report => report.Step).ToList();
        Assert.Equal([2L, 4L], saved);
        Assert.InRange(result.Metrics["eval_i2t_r10"], 0.0, 1.0);
        var output = await _store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [CheckpointFiles.Weights, CheckpointFiles.State],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("checkpoint.blip", result.Outputs["checkpoint"].Type);

        // A retry from the step-2 checkpoint finishes with exactly the same weights.
        var checkpoint = _published.OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var resumed = await runner.RunAsync(Context("run-2", resumeFrom: checkpoint), CancellationToken.None);

        var resumedOutput = await _store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["loss"], resumed.Metrics["loss"]);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Swapped_negatives_on_captions_without_a_swappable_word_fail_before_training_naming_the_option()
    {
        // The stand-in data side lists no training captions, so there is nothing to learn swaps from.
        var runner = new BlipPretrainRunner(new SyntheticData());
        var options = OptionsJson.TrimEnd().TrimEnd('}') + ""","itm_swap_negative_share":0.5}""";

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => runner.RunAsync(Context("run-swaps", resumeFrom: null, options), CancellationToken.None));

        Assert.Contains("itm_swap_negative_share is 0.5", error.Message, StringComparison.Ordinal);
        Assert.Contains("set itm_swap_negative_share to 0", error.Message, StringComparison.Ordinal);
        Assert.Empty(_published.OfType<StageRunProgressed>());
    }

    private StageRunContext Context(string runId, ArtifactReference? resumeFrom, string optionsJson = OptionsJson)
    {
        var kind = StageKindCatalog.Find("blip.pretrain")!;
        var run = new StartStageRun
        {
            RunId = runId,
            Attempt = 1,
            ExperimentId = "exp-1",
            StageId = "pretrain",
            Kind = kind.Name,
            OptionsJson = OptionsJson,
            Inputs = new Dictionary<string, IReadOnlyList<ArtifactReference>> { ["train"] = [_train] },
            ResumeFrom = resumeFrom,
            WorldSize = 1,
            Rank = 0,
            Rendezvous = new GangRendezvous { WorkerIds = ["w1"], Group = runId },
        };
        var publisher = new ReportPublisher(
            (message, _, _) =>
            {
                _published.Enqueue(message);
                return Task.CompletedTask;
            },
            TimeProvider.System, NullLogger<ReportPublisher>.Instance, new ReportPublisherOptions());
        var work = Directory.CreateDirectory(Path.Combine(_root, "work", runId)).FullName;
        return new StageRunContext(
            run, kind, OptionsBinder.Read<BlipPretrainOptions>(kind, optionsJson), "cpu", work, _store, new CheckpointResolver(_store, NullLogger<CheckpointResolver>.Instance), publisher,
            TimeProvider.System, TimeSpan.Zero, NullLogger.Instance, CancellationToken.None);
    }

    /// <summary>Stands in for the data side: synthetic pairs shaped by the run's loader settings.</summary>
    private sealed class SyntheticData : IBlipBatchSourceFactory
    {
        public BlipRunData Open(BlipDataRequest request, ShardLayout layout)
        {
            var loader = request.Loader;
            var config = TinyBlip.Config() with { Vision = TinyBlip.Config().Vision with { ImageSize = loader.ImageSize } };
            var batches = new SyntheticPretrainBatches(config, TinyBlip.Tokens, classes: 6, loader.MaxTextLength, loader.Seed);
            var size = loader.BatchSize / layout.WorldSize;
            IBlipBatchSource[] shards = [.. layout.Ranks.Select(rank =>
                new InMemoryBlipBatchSource(size, 4, (epoch, index) => batches.Batch(size, rank * 1000 + epoch * 100 + index)))];
            var eval = new InMemoryBlipBatchSource(4, 2, (_, index) => batches.Batch(4, 50_000 + index));
            return new BlipRunData(TinyBlip.Tokens, TinyBlip.VocabSize, shards, eval) { Release = batches.Dispose };
        }
    }
}
