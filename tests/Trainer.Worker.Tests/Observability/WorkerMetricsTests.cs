using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Observability;
using Trainer.Worker.Tests.Agent;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Observability;

public sealed class WorkerMetricsTests
{
    private const string RunTags = "experiment=exp-1,kind=dataset.synthetic,rank=0,stage=data";

    [Fact]
    public void A_step_report_becomes_the_runs_training_series_and_ending_the_run_removes_them()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        using var recorder = new MeterRecorder(metrics.Meter);
        var step = new StepReport
        {
            Step = 7, TotalSteps = 10, Epoch = 0, Loss = 6.5, Losses = [("itc", 1.5), ("itm", 2), ("lm", 3)], LearningRate = 1e-4,
            GradNorm = 9, ModelMetrics = new Dictionary<string, double> { ["temp"] = 0.07, ["alpha"] = 0.4 }, SamplesPerSecond = 12.5, StepSeconds = 0.25, DataWaitShare = 0.1,
        };

        var series = metrics.StartRun(WorkerHarness.Run("run-1"));
        Assert.Empty(recorder.Observe("trainer.run.step"));
        series.Record(step.Step, step.Metrics(), step.SamplesPerSecond);

        Assert.Equal([new("trainer.run.step", 7, RunTags)], recorder.Observe("trainer.run.step"));
        Assert.Equal(
            [("itc", 1.5), ("itm", 2.0), ("lm", 3.0), ("total", 6.5)],
            recorder.Observe("trainer.run.loss").Select(loss => (Objective(loss.Tags), loss.Value)).Order());
        Assert.Equal([new("trainer.run.learning_rate", 1e-4, RunTags)], recorder.Observe("trainer.run.learning_rate"));
        Assert.Equal([new("trainer.run.temperature", 0.07, RunTags)], recorder.Observe("trainer.run.temperature"));
        Assert.Equal([new("trainer.run.samples", 12.5, RunTags)], recorder.Observe("trainer.run.samples"));
        Assert.Equal([new("trainer.run.step.duration", 0.25, RunTags)], recorder.Observe("trainer.run.step.duration"));
        Assert.Equal([new("trainer.run.data_wait.ratio", 0.1, RunTags)], recorder.Observe("trainer.run.data_wait.ratio"));

        series.Dispose();
        Assert.Empty(recorder.Observe("trainer.run.step"));
        Assert.Empty(recorder.Observe("trainer.run.loss"));
    }

    [Fact]
    public void A_run_that_reports_no_training_values_exports_its_step_only()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        using var recorder = new MeterRecorder(metrics.Meter);
        using var series = metrics.StartRun(WorkerHarness.Run("run-1"));

        series.Record(3, new Dictionary<string, double> { ["value"] = 6, ["loss_"] = 1 }, samplesPerSecond: null);

        Assert.Equal([new("trainer.run.step", 3, RunTags)], recorder.Observe("trainer.run.step"));
        Assert.Empty(recorder.Observe("trainer.run.loss"));
        Assert.Empty(recorder.Observe("trainer.run.learning_rate"));
        Assert.Empty(recorder.Observe("trainer.run.temperature"));
        Assert.Empty(recorder.Observe("trainer.run.samples"));
    }

    [Fact]
    public async Task A_running_run_is_fed_by_its_progress_reports_and_checkpoint_saves()
    {
        await using var worker = await WorkerHarness.StartAsync();
        using var recorder = new MeterRecorder(worker.Metrics.Meter);
        worker.Script.HoldBeforeStep = 3;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        var gate = worker.Script.Gate("run-1");
        await worker.WaitAsync(gate.Reached.Task);

        // Steps 1 and 2 are done (loss 1/step) and the checkpoint at step 2 holds one file of one byte ("2").
        Assert.Equal([new("trainer.run.step", 2, RunTags)], recorder.Observe("trainer.run.step"));
        Assert.Equal([new("trainer.run.loss", 0.5, "experiment=exp-1,kind=dataset.synthetic,objective=total,rank=0,stage=data")], recorder.Observe("trainer.run.loss"));
        Assert.Equal([new("trainer.checkpoint.written", 1, "kind=dataset.synthetic")], recorder.Recorded("trainer.checkpoint.written"));
        // Timed on the worker's clock, which is fake here and stood still.
        Assert.Equal([new("trainer.checkpoint.write.duration", 0, "kind=dataset.synthetic")], recorder.Recorded("trainer.checkpoint.write.duration"));

        gate.Release.SetResult();
        await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
        await worker.RunEndedAsync("run-1");
        Assert.Empty(recorder.Observe("trainer.run.step"));
        Assert.Empty(recorder.Observe("trainer.run.loss"));
    }

    [Fact]
    public void A_gang_ranks_series_carry_its_rank_its_all_reduce_share_and_its_rendezvous_wait()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        using var recorder = new MeterRecorder(metrics.Meter);
        using var single = metrics.StartRun(WorkerHarness.Run("run-1"));
        using var rank = metrics.StartRun(WorkerHarness.Run("run-2") with { Rank = 1, WorldSize = 2 });
        single.Record(4, new Dictionary<string, double> { [ProgressMetricKeys.StepSeconds] = 0.5 }, samplesPerSecond: null);

        rank.RecordRendezvous(TimeSpan.FromMilliseconds(1500));
        rank.Record(4, new Dictionary<string, double> { [ProgressMetricKeys.StepSeconds] = 0.5, [ProgressMetricKeys.AllReduceShare] = 0.25 }, samplesPerSecond: null);

        const string Rank1 = "experiment=exp-1,kind=dataset.synthetic,rank=1,stage=data";
        Assert.Equal([new("trainer.run.allreduce.ratio", 0.25, Rank1)], recorder.Observe("trainer.run.allreduce.ratio"));
        Assert.Equal([new("trainer.run.rendezvous.duration", 1.5, Rank1)], recorder.Observe("trainer.run.rendezvous.duration"));
        Assert.Equal(
            [new("trainer.run.step.duration", 0.5, RunTags), new("trainer.run.step.duration", 0.5, Rank1)],
            recorder.Observe("trainer.run.step.duration").OrderBy(measurement => measurement.Tags, StringComparer.Ordinal));
    }

    [Fact]
    public void Watchdog_aborts_start_at_zero_for_every_kind_the_worker_runs()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        using var recorder = new MeterRecorder(metrics.Meter);

        metrics.PublishZeros(["blip.pretrain", "dataset.synthetic"]);

        Assert.Equal(
            [new("trainer.run.watchdog.aborts", 0, "kind=blip.pretrain"), new("trainer.run.watchdog.aborts", 0, "kind=dataset.synthetic")],
            recorder.Recorded("trainer.run.watchdog.aborts"));
    }

    [Fact]
    public void Without_nvml_gpu_memory_is_not_reported_and_the_reason_is_logged()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        using var recorder = new MeterRecorder(metrics.Meter);
        using var logs = new LogCapture();

        metrics.WatchGpuMemory(logs.CreateLogger("gpu"));

        Assert.Empty(recorder.Observe("trainer.gpu.memory.used"));
        Assert.Empty(recorder.Observe("trainer.gpu.memory.total"));
        Assert.Contains(logs.Lines, line => line.Message.Contains("libnvidia-ml.so.1 is not loadable", StringComparison.Ordinal));
    }

    [Fact]
    public void Gpu_memory_is_published_as_used_and_total_gauges_in_bytes()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new WorkerMetrics(services.GetRequiredService<IMeterFactory>());
        var gauges = new Dictionary<string, string?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name.StartsWith("trainer.gpu.", StringComparison.Ordinal))
                {
                    Assert.IsType<ObservableGauge<long>>(instrument);
                    gauges[instrument.Name] = instrument.Unit;
                }
            },
        };
        listener.Start();

        Assert.Equal(
            new Dictionary<string, string?> { ["trainer.gpu.memory.total"] = "By", ["trainer.gpu.memory.used"] = "By" },
            gauges.OrderBy(gauge => gauge.Key, StringComparer.Ordinal).ToDictionary());
    }

    private static string Objective(string tags) =>
        tags.Split(',').Single(tag => tag.StartsWith("objective=", StringComparison.Ordinal))["objective=".Length..];
}
