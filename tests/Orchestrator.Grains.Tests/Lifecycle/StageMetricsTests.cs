using System.Diagnostics.Metrics;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>What the stage grains record in the orchestrator's metrics, read with a <see cref="MeterListener"/>.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StageMetricsTests(ClusterFixture fixture) : IDisposable
{
    private readonly LifecycleDriver _driver = new(fixture);
    private readonly MeterListener _listener = new();
    private readonly List<(double Seconds, string Kind, string Status)> _durations = [];
    private readonly List<(string Kind, string Start)> _gangs = [];

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

    [Fact]
    public async Task A_gang_placed_counts_a_first_generation_and_the_whole_gang_placed_again_a_restart()
    {
        ListenToGangs();
        await _driver.RegisterWorkerAsync("w1");
        await _driver.RegisterWorkerAsync("w2");
        var id = $"exp-{_driver.Label}";
        var labels = $"labels: {{ test: \"{_driver.Label}\" }}";
        var prepared = ExperimentDrafts.Prepare($$"""
            name: gang-metrics
            stages:
            - { id: data, kind: dataset.synthetic, resources: { {{labels}} } }
            - { id: pretrain, kind: blip.pretrain, inputs: { train: data.web }, resources: { {{labels}}, workers: 2 }, retry: { initial_backoff: 1s } }
            """, SpecFormat.Yaml, id);
        Assert.Empty(prepared.Errors);
        Assert.Equal(CreateOutcome.Created, (await _driver.Experiment(id).CreateAsync(prepared.Draft!)).Outcome);
        var data = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        Assert.Empty(Gangs()); // a run of one worker is no gang (read before the gang can be placed: its input is not done yet)
        await _driver.CompleteAsync(data);

        var first = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain");
        Assert.Equal(2, first.WorkerIds.Count);
        await _driver.WaitForAsync(id, _ => Gangs().Count == 1);
        await _driver.FailAsync(first, retryable: true);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));

        // The failed gang's workers get the next generation once each is heard again.
        await _driver.RegisterWorkerAsync("w1");
        await _driver.RegisterWorkerAsync("w2");
        await _driver.TickRetryAsync(id, "pretrain");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain", attempt: 2);
        Assert.Equal(2, second.WorkerIds.Count);
        await _driver.WaitForAsync(id, _ => Gangs().Count == 2);

        Assert.Equal([("blip.pretrain", "first"), ("blip.pretrain", "restart")], Gangs());
    }

    public void Dispose() => _listener.Dispose();

    private void ListenToGangs()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrchestratorMetrics.MeterName && instrument.Name == "orchestrator.gang.generations")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            // Zeros are published for every gang kind at start: only placements count here.
            if (value == 0)
            {
                return;
            }

            var kind = tags.ToArray().Single(tag => tag.Key == "kind").Value as string;
            var start = tags.ToArray().Single(tag => tag.Key == "start").Value as string;
            lock (_gangs)
            {
                _gangs.Add((kind!, start!));
            }
        });
        _listener.Start();
    }

    private List<(string Kind, string Start)> Gangs()
    {
        lock (_gangs)
        {
            return [.. _gangs];
        }
    }

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
