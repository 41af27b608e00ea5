using System.Text.Json;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>Live events served by every silo of a two-silo cluster, and the processes' JSON log lines of the runs.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ObservabilityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly string[] Json = ["--Logs:Format=Json", "--Logging:LogLevel:Trainer=Debug", "--Logging:LogLevel:Orchestrator=Debug"];

    /// <summary>The worker's lines about itself rather than one of its runs.</summary>
    private static readonly string[] WorkerLines =
        ["Worker {WorkerId} started: {Slots} slots on {Device} ({DeviceName}); runs {Kinds}", "Worker {WorkerId} draining {Runs} runs", "Worker {WorkerId} deregistered"];

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task Both_silos_of_a_cluster_stream_the_events_of_an_experiment_and_the_workers_json_lines_of_its_runs_carry_their_ids()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, first) = await e2e.StartSiloAsync("silo-1", SiloPorts.Free(), TimeSpan.FromSeconds(5), Json);
        var (_, second) = await e2e.StartSiloAsync("silo-2", SiloPorts.Free(), TimeSpan.FromSeconds(5), Json);
        var worker = e2e.StartWorker(e2e.WorkerId(1), extraArguments: Json);

        var id = await first.SubmitAsync(Dags.DataThenPretrain(pretrainSteps: 10));
        var read = await Task.WhenAll(first.ReadEventsAsync(id, Timeout), second.ReadEventsAsync(id, Timeout));
        var ended = await first.GetAsync(id);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        foreach (var events in read)
        {
            Assert.Equal(("experiment", ExperimentStatus.Succeeded), (events[^1].Type, events[^1].Data.ExperimentStatus));
            Assert.Single(events, change => change.Data.IsFinal);
            var pretrain = events.Where(change => change.Data.StageId == "pretrain").ToList();
            var statuses = pretrain.Where(change => change.Type == "stage").Select(change => change.Data.StageStatus!.Value).ToList();
            Assert.Equal(statuses.Order(), statuses);
            Assert.Equal([StageStatus.Running, StageStatus.Succeeded], statuses[^2..]);
            var steps = pretrain.Where(change => change.Type == "progress").Select(change => change.Data.Progress!.Step).ToList();
            Assert.NotEmpty(steps);
            Assert.Equal(steps.Order().Distinct(), steps);
        }

        // Every line the worker wrote from the first run on is about a run, but for its own start and stop.
        var runs = ended.Stages.ToDictionary(stage => stage.Attempts.Single().RunId, stage => stage.Id);
        // Each line is stamped with the test's clock, then the JSON object the console logger wrote.
        var lines = worker.Lines.Select(line => line[8..]).Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var fromFirstRun = lines.SkipWhile(line => !line.GetProperty("Message").GetString()!.StartsWith("StartStageRun", StringComparison.Ordinal)).ToList();
        var aboutRuns = fromFirstRun
            .Where(line => line.GetProperty("Category").GetString()!.StartsWith("Trainer.Worker.", StringComparison.Ordinal))
            .Where(line => !WorkerLines.Contains(line.GetProperty("State").GetProperty("{OriginalFormat}").GetString()))
            .ToList();
        Assert.True(aboutRuns.Count >= 6, $"only {aboutRuns.Count} lines about runs");
        Assert.All(aboutRuns, line =>
        {
            var scope = line.GetProperty("Scopes").EnumerateArray().Last(item => item.ValueKind == JsonValueKind.Object && item.TryGetProperty(RunTelemetry.RunId, out _));
            var runId = scope.GetProperty(RunTelemetry.RunId).GetString()!;
            Assert.Equal(runs[runId], scope.GetProperty(RunTelemetry.StageId).GetString());
            Assert.Equal(id, scope.GetProperty(RunTelemetry.ExperimentId).GetString());
        });
        e2e.Passed();
    }
}
