using System.Diagnostics.Metrics;
using Orchestrator.Grains.Experiments;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>What the stage grains record in the orchestrator's metrics, read with a <see cref="MeterListener"/>.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StageMetricsTests(ClusterFixture fixture) : IDisposable
{
    private readonly LifecycleDriver _driver = new(fixture);
    private readonly MeterListener _listener = new();
    private readonly List<(double Seconds, string Kind, string Status)> _durations = [];

    [Fact]
    public async Task A_stage_duration_runs_from_its_first_queued_run_through_retries_to_its_end()
    {
        Listen();
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }", stageFields: ", retry: { initial_backoff: 10s }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(30));
        await _driver.FailAsync(first, retryable: true);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(10));
        await _driver.TickRetryAsync(id, "data");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(20));
        await _driver.CompleteAsync(second);
        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);

        // Retrying is not ending: one duration, queued to succeeded, 30 + 10 + 20 s.
        Assert.Equal([(60.0, "dataset.synthetic", "Succeeded")], Durations());
    }

    public void Dispose() => _listener.Dispose();

    private void Listen()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrchestratorMetrics.MeterName && instrument.Name == "orchestrator.stage.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            var kind = tags.ToArray().Single(tag => tag.Key == "kind").Value as string;
            var status = tags.ToArray().Single(tag => tag.Key == "status").Value as string;
            lock (_durations)
            {
                _durations.Add((value, kind!, status!));
            }
        });
        _listener.Start();
    }

    private List<(double Seconds, string Kind, string Status)> Durations()
    {
        lock (_durations)
        {
            return [.. _durations];
        }
    }
}
