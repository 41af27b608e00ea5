using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Observability;

/// <summary>
/// The worker's instruments (meter <see cref="MeterName"/>), served at the worker's own <c>/metrics</c>. Per-run
/// training series (step, loss per objective, learning rate, ITC temperature, samples/s, step time, data-wait share,
/// trainable share, generation tokens/s; a gang rank's all-reduce share and rendezvous wait) carry the
/// <c>experiment</c>, <c>stage</c>, <c>kind</c> and <c>rank</c> labels (a gang's ranks on their own workers; 0 for a run of one worker), and exist only while the run is on this worker; they are
/// fed by <see cref="Runners.StageRunContext.ReportProgressAsync"/>, the same path as the progress reports.
/// Checkpoint writes are labelled by kind only; GPU memory (by GPU index) only on a worker that trains on CUDA. Names follow Prometheus once exported: <c>trainer_run_step</c>,
/// <c>trainer_checkpoint_write_duration_seconds</c>, <c>trainer_checkpoint_written_bytes_total</c>, <c>trainer_cache_lookups_total</c>, ...
/// </summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "Trainer.Worker";

    private readonly ConcurrentDictionary<TrainingRunSeries, byte> _runs = new();
    private readonly Histogram<double> _checkpointWriteDuration;
    private readonly Counter<long> _checkpointWrittenBytes;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _watchdogAborts;
    private volatile NvmlGpuMemory? _gpuMemory;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        Meter.CreateObservableGauge("trainer.run.step", () => Observe(run => run.Step), "{step}", "Optimiser steps a run has taken.");
        Meter.CreateObservableGauge("trainer.run.loss", ObserveLosses, description: "A run's last training loss, by objective (total for their sum).");
        Meter.CreateObservableGauge("trainer.run.learning_rate", () => Observe(run => run.LearningRate), description: "A run's current learning rate.");
        Meter.CreateObservableGauge("trainer.run.samples", () => Observe(run => run.SamplesPerSecond), "{sample}/s", "A run's training samples per second, all replicas.");
        Meter.CreateObservableGauge("trainer.run.step.duration", () => Observe(run => run.StepSeconds), "s", "Wall time of a run's last step, waiting for data included.");
        Meter.CreateObservableGauge("trainer.run.data_wait.ratio", () => Observe(run => run.DataWaitShare), "1", "Share of a run's last step spent waiting for data.");
        Meter.CreateObservableGauge("trainer.run.temperature", () => Observe(run => run.Temperature), description: "A run's learnable contrastive (ITC) temperature, for models that have one.");
        Meter.CreateObservableGauge("trainer.run.trainable.ratio", () => Observe(run => run.TrainableShare), "1",
            "Share of a run's model parameters that train, frozen ones counted (BLIP-2 stage 2: the frozen LLM's are not).");
        Meter.CreateObservableGauge("trainer.run.generation.tokens", () => Observe(run => run.GenerationTokensPerSecond), "{token}/s",
            "Tokens a run's evaluation generates per second (captions and answers through BLIP-2's frozen LLM).");
        Meter.CreateObservableGauge("trainer.run.allreduce.ratio", () => Observe(run => run.AllReduceShare), "1",
            "Share of a gang rank's last step spent averaging gradients across the gang (runs of more than one worker).");
        Meter.CreateObservableGauge("trainer.run.rendezvous.duration", () => Observe(run => run.RendezvousSeconds), "s",
            "How long a gang rank waited for the other ranks to join its generation (runs of more than one worker).");
        _checkpointWriteDuration = Meter.CreateHistogram<double>("trainer.checkpoint.write.duration", "s",
            "Committing a checkpoint to the artifact store: hashing, upload and manifest.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
        _checkpointWrittenBytes = Meter.CreateCounter<long>("trainer.checkpoint.written", "By", "Bytes of checkpoints committed to the artifact store.");
        _cacheLookups = Meter.CreateCounter<long>("trainer.cache.lookups", "{lookup}",
            "Lookups of a run's cache (e.g. BLIP-2's frozen image features) in the artifact store, by cache and result: hit or miss.");
        _watchdogAborts = Meter.CreateCounter<long>("trainer.run.watchdog.aborts", "{run}",
            "Runs the worker's watchdog failed (retryable) for making no progress for Worker:ProgressTimeout, by kind.");
        Meter.CreateObservableGauge("trainer.gpu.memory.used", () => _gpuMemory?.ReadUsed() ?? [], "By", "Memory in use on each GPU (all processes), where the worker trains on CUDA.");
        Meter.CreateObservableGauge("trainer.gpu.memory.total", () => _gpuMemory?.ReadTotal() ?? [], "By", "Each GPU's memory, where the worker trains on CUDA.");
    }

    /// <summary>The meter the instruments belong to (tests listen to this one).</summary>
    public Meter Meter { get; }

    /// <summary>Starts the series of a run; disposing the returned series ends them.</summary>
    public TrainingRunSeries StartRun(StartStageRun run)
    {
        var series = new TrainingRunSeries(run, this);
        _runs.TryAdd(series, 0);
        return series;
    }

    /// <summary>
    /// Gives the counters their series at zero for each kind this worker runs, so that a rate over a counter that has not
    /// moved yet is 0 rather than missing (as the orchestrator's <c>PublishZeros</c>).
    /// </summary>
    public void PublishZeros(IEnumerable<string> kinds)
    {
        foreach (var kind in kinds)
        {
            _watchdogAborts.Add(0, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>Reports GPU memory from now on (the worker found CUDA); without NVML it logs why and reports none.</summary>
    public void WatchGpuMemory(ILogger logger) => _gpuMemory ??= NvmlGpuMemory.TryOpen(logger);

    internal void EndRun(TrainingRunSeries series) => _runs.TryRemove(series, out _);

    internal void RecordCheckpoint(string kind, TimeSpan duration, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("kind", kind);
        _checkpointWriteDuration.Record(duration.TotalSeconds, tag);
        _checkpointWrittenBytes.Add(bytes, tag);
    }

    internal void RecordCacheLookup(string kind, string cache, bool hit) =>
        _cacheLookups.Add(1, new("kind", kind), new("cache", cache), new("result", hit ? "hit" : "miss"));

    internal void RecordWatchdogAbort(string kind) => _watchdogAborts.Add(1, new KeyValuePair<string, object?>("kind", kind));

    private IEnumerable<Measurement<double>> Observe(Func<TrainingRunSeries, double?> value)
    {
        foreach (var run in _runs.Keys)
        {
            if (value(run) is { } observed)
            {
                yield return new Measurement<double>(observed, run.Tags);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveLosses()
    {
        foreach (var run in _runs.Keys)
        {
            foreach (var (objective, loss) in run.Losses)
            {
                yield return new Measurement<double>(loss, [.. run.Tags, new KeyValuePair<string, object?>("objective", objective)]);
            }
        }
    }
}
