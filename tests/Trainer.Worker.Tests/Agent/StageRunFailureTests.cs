using System.Runtime.InteropServices;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Specs;
using Trainer.Worker.Agent;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Agent;

public sealed class StageRunFailureTests
{
    [Fact]
    public async Task A_kind_missing_from_the_catalog_fails_permanently_naming_the_known_kinds()
    {
        await using var worker = await WorkerHarness.StartAsync();

        await worker.SendAsync(WorkerHarness.Run("run-1", kind: "blip.nonsense"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.False(failed.Retryable);
        Assert.Equal(
            $"kind 'blip.nonsense' is not in the stage-kind catalog; known kinds: {string.Join(", ", StageKindCatalog.All.Select(kind => kind.Name))}",
            failed.Error);
        Assert.Null(failed.LastCheckpoint);
        Assert.Empty(worker.PublishedSoFar<StageRunStarted>());
    }

    [Fact]
    public async Task A_kind_without_a_runner_on_this_worker_fails_permanently_naming_the_kinds_it_runs()
    {
        await using var worker = await WorkerHarness.StartAsync();

        await worker.SendAsync(WorkerHarness.Run("run-1", kind: "blip.capfilt"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.False(failed.Retryable);
        Assert.Equal("this worker has no runner for kind 'blip.capfilt'; it runs: dataset.synthetic", failed.Error);
        Assert.Empty(worker.PublishedSoFar<StageRunStarted>());
        Assert.Empty(worker.Script.Entered);
    }

    [Fact]
    public async Task Options_that_do_not_bind_fail_permanently_naming_every_bad_option()
    {
        await using var worker = await WorkerHarness.StartAsync();

        await worker.SendAsync(WorkerHarness.Run("run-1", optionsJson: """{"images": "many", "web_nois": 0.2}"""));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.False(failed.Retryable);
        Assert.Equal(
            "invalid options for kind dataset.synthetic: " +
            "images: option 'images' of kind dataset.synthetic must be a whole number, but is the string \"many\"; give a whole number, e.g. images: 3; " +
            "web_nois: unknown option 'web_nois' for kind dataset.synthetic; did you mean 'web_noise'? " +
            "known options: images, human_images, test_images, web_noise, image_size, seed, vqa_questions, vqa_disagreement, nlvr2_pairs",
            failed.Error);
        Assert.Empty(worker.Script.Entered);
    }

    [Fact]
    public async Task An_IOException_from_the_runner_fails_retryably_from_the_last_checkpoint()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.Failure = (3, new IOException("No space left on device"));

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.True(failed.Retryable);
        Assert.Equal("No space left on device", failed.Error);
        var saved = Assert.Single(worker.PublishedSoFar<CheckpointSaved>());
        Assert.Equal(2, saved.Step);
        Assert.Equal(saved.Checkpoint, failed.LastCheckpoint);
        Assert.Empty(worker.PublishedSoFar<StageRunCompleted>());
    }

    [Fact]
    public async Task Any_other_exception_from_the_runner_fails_permanently_with_its_message()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.Failure = (1, new InvalidOperationException("shapes (2, 3) and (4, 5) cannot be multiplied"));

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.False(failed.Retryable);
        Assert.Equal("shapes (2, 3) and (4, 5) cannot be multiplied", failed.Error);
        Assert.Null(failed.LastCheckpoint);
    }

    [Theory]
    [InlineData("retryable-stage", true)]
    [InlineData("io", true)]
    [InlineData("file-not-found", true)]
    [InlineData("timeout", true)]
    [InlineData("unrequested-cancellation", true)]
    [InlineData("aggregate-of-io", true)]
    [InlineData("libtorch", true)]
    [InlineData("storage-unreachable", true)]
    [InlineData("storage-busy", true)]
    [InlineData("storage-retries-unreachable", true)]
    [InlineData("http-request", true)]
    [InlineData("storage-forbidden", false)]
    [InlineData("storage-retries-mixed", false)]
    [InlineData("win32", false)]
    [InlineData("invalid-operation", false)]
    [InlineData("artifact-corrupt", false)]
    [InlineData("invalid-options", false)]
    [InlineData("not-runnable", false)]
    public void Transient_exception_types_are_retryable_and_the_rest_permanent(string exception, bool retryable)
    {
        Exception error = exception switch
        {
            "retryable-stage" => new RetryableStageException("the problem"),
            "io" => new IOException("the problem"),
            "file-not-found" => new FileNotFoundException("the problem"),
            "timeout" => new TimeoutException("the problem"),
            "unrequested-cancellation" => new TaskCanceledException("the problem"),
            "aggregate-of-io" => new AggregateException(new IOException("the problem")),
            "libtorch" => new ExternalException("the problem"),
            "storage-unreachable" => new Azure.RequestFailedException("the problem"),
            "storage-busy" => new Azure.RequestFailedException(503, "the problem"),
            "storage-retries-unreachable" => new AggregateException(new Azure.RequestFailedException("refused"), new Azure.RequestFailedException("the problem")),
            "http-request" => new HttpRequestException("the problem"),
            "storage-forbidden" => new Azure.RequestFailedException(403, "the problem"),
            "storage-retries-mixed" => new AggregateException(new Azure.RequestFailedException("refused"), new Azure.RequestFailedException(404, "the problem")),
            "win32" => new System.ComponentModel.Win32Exception(2, "the problem"),
            "invalid-operation" => new InvalidOperationException("the problem"),
            "artifact-corrupt" => new ArtifactCorruptException("file:///a", "the problem"),
            "invalid-options" => new InvalidOptionsException("k", [new SpecError("/x", "the problem")]),
            "not-runnable" => new StageKindNotRunnableException("k", "the problem"),
            _ => throw new ArgumentOutOfRangeException(nameof(exception)),
        };

        var (message, isRetryable) = RunFailures.Classify(error);

        Assert.Equal(retryable, isRetryable);
        Assert.EndsWith("the problem", message, StringComparison.Ordinal);
    }
}
