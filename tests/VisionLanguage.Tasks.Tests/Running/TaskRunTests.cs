using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Testing;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Tests.Running;

/// <summary>Tasks run from folders through their ports, with no orchestrator: what a bench or a notebook does.</summary>
public sealed class TaskRunTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("task-run-").FullName;
    private string _human = null!;
    private string _test = null!;

    private static BlipImageTextSettings Settings => new()
    {
        Trainer = new TrainerSettings { Epochs = 1, WarmupSteps = 1, LearningRate = 1e-3, CheckpointEverySteps = 2, Seed = 0 },
        Loader = new LoaderSettings { BatchSize = 4, Seed = 0, ImageSize = 16, MaxTextLength = 16 },
        EvalTopK = 4,
    };

    public async Task InitializeAsync()
    {
        var dataset = SyntheticDataset.Plan(new SyntheticDatasetSettings { Images = 4, HumanImages = 16, TestImages = 4, WebNoise = 0, ImageSize = 16, Seed = 3 });
        _human = Path.Combine(_root, "human");
        _test = Path.Combine(_root, "test");
        await dataset[SyntheticDataset.Human].WriteAsync(_human, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        await dataset[SyntheticDataset.Test].WriteAsync(_test, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
    }

    [Fact]
    public async Task A_pretrain_reads_folders_keeps_its_checkpoints_reports_every_step_and_resumes_to_the_same_bits()
    {
        var steps = new List<long>();
        var first = new LocalTaskRun(Path.Combine(_root, "first"), Inputs(), step =>
        {
            steps.Add(step.Step);
            return Task.CompletedTask;
        });
        var task = new BlipPretrainTask(new BlipBatchSourceFactory(), TinyBlip.Config() with { Text = TinyBlip.Config().Text with { VocabSize = 0 } }, Settings);

        var result = await task.RunAsync(first.Ports(BlipPretrainTask.Kind), CancellationToken.None);

        // 16 pairs in batches of 4: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([1L, 2L, 3L, 4L], steps);
        Assert.Equal(["step-000002", "step-000004"], first.Checkpoints.Select(Path.GetFileName));
        Assert.Equal(
            [CheckpointFiles.Weights, CheckpointFiles.State, BlipVocabulary.FileName],
            Directory.EnumerateFiles(result.Outputs["checkpoint"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(1.0, result.Metrics["eval_i2t_r10"]);
        Assert.Contains("loss_itc", result.Metrics.Keys);

        // A second run that finds the step-2 checkpoint resumes from it and ends with the same weights.
        var resumedSteps = new List<long>();
        var second = new LocalTaskRun(Path.Combine(_root, "second"), Inputs(), step =>
        {
            resumedSteps.Add(step.Step);
            return Task.CompletedTask;
        });
        CopyFolder(first.Checkpoints[0], Path.Combine(second.WorkDirectory, "checkpoints", "step-000002"));
        var resumed = await task.RunAsync(second.Ports(BlipPretrainTask.Kind), CancellationToken.None);

        Assert.Equal([3L, 4L], resumedSteps);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(result.Outputs["checkpoint"], CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumed.Outputs["checkpoint"], CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["loss"], resumed.Metrics["loss"]);
        Assert.Equal(["step-000004"], second.Checkpoints.Select(Path.GetFileName).Where(name => name != "step-000002"));
    }

    [Fact]
    public async Task A_task_asked_for_a_gang_refuses_before_reading_anything_and_names_the_fix()
    {
        var local = new LocalTaskRun(Path.Combine(_root, "gang"), Inputs());
        var ports = local.Ports(BlipPretrainTask.Kind) with { Identity = new RunIdentity(BlipPretrainTask.Kind, 0, 2, CPU) };
        var task = new BlipPretrainTask(new BlipBatchSourceFactory(), TinyBlip.Config(), Settings);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => task.RunAsync(ports, CancellationToken.None));

        Assert.Equal("this run is rank 0 of a gang of 2, but the worker connected no collectives for it", error.Message);
    }

    [Fact]
    public async Task A_caption_finetune_without_an_init_checkpoint_names_the_input_it_needs()
    {
        var local = new LocalTaskRun(Path.Combine(_root, "caption"), new Dictionary<string, IReadOnlyList<string>> { ["train"] = [_human] });
        var task = new BlipCaptionTask(new BlipCaptionSettings
        {
            Trainer = Settings.Trainer,
            Loader = Settings.Loader,
            Decoding = new CaptionDecodingSettings(),
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => task.RunAsync(local.Ports(BlipCaptionTask.Kind), CancellationToken.None));

        Assert.Equal("a finetune needs input init, the checkpoint it starts from; bind it to a blip.pretrain stage's output", error.Message);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    private Dictionary<string, IReadOnlyList<string>> Inputs() => new() { ["train"] = [_human], ["eval"] = [_test] };

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
