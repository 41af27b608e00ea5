using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Orchestrator.Silo.Api;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// The storage account (Azurite's blob and table processes, which hold the cluster's membership, reminders and grain
/// state, and the workers' artifacts) goes away for 20 s while experiments run: frozen (SIGSTOP: requests wait
/// unanswered, as on a partitioned network), or stopped (SIGTERM: connections refused) and started again on the same
/// data. Meanwhile reads answer within 1 s from what the silo holds, and writes answer 503 with Retry-After within 10 s,
/// never 500; afterwards every experiment finishes within 2 minutes, and every stage that was not running when the
/// outage began runs once.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class StorageOutageTests(ITestOutputHelper output)
{
    /// <summary>Forty seconds of steps: the run outlasts the outage.</summary>
    private const int PretrainSteps = 400;

    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WriteBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FinishBound = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob,
        TestServers.AzuriteBlobPidFile, TestServers.AzuriteTablePidFile, TestServers.Services)]
    public Task Storage_frozen_for_20_s_mid_run() =>
        OutageAsync(AzuriteControl.FreezeAsync, AzuriteControl.ThawAsync, "frozen (SIGSTOP)", "thawed (SIGCONT)");

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob,
        TestServers.AzuriteBlobPidFile, TestServers.AzuriteTablePidFile, TestServers.Services)]
    public Task Storage_stopped_and_started_again_mid_run() =>
        OutageAsync(AzuriteControl.StopAsync, AzuriteControl.StartAsync, "stopped (SIGTERM)", "started again");

    private async Task OutageAsync(Func<Task> begin, Func<Task> end, string began, string ended)
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (silo, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), TimeSpan.FromSeconds(30));
        e2e.StartWorker(e2e.WorkerId(1));
        e2e.StartWorker(e2e.WorkerId(2));

        // No test of another assembly (or outside this collection) uses Azurite from here on.
        using var exclusive = await AzuriteControl.TakeAsync();

        // Two experiments whose pretrain runs through the outage, and a third that waits for a worker, to cancel.
        string[] running = [await api.SubmitAsync(Dags.DataPretrainFinetune(PretrainSteps)), await api.SubmitAsync(Dags.DataPretrainFinetune(PretrainSteps))];
        foreach (var id in running)
        {
            await api.WaitForAsync(id, "a checkpoint of pretrain", view => Stage(view, "pretrain").LastCheckpoint is not null, Timeout);
        }

        var waiting = await api.SubmitAsync(Dags.DataThenPretrain(5));
        var before = new Dictionary<string, ExperimentView>();
        foreach (var id in running.Append(waiting))
        {
            before[id] = await api.GetAsync(id);
        }

        var submission = "e2e-outage-" + Guid.NewGuid().ToString("N");
        var probes = new List<string>();
        await begin();
        e2e.Log($"storage {began}");
        var outage = Stopwatch.StartNew();
        try
        {
            // Writes first, while the outage is fresh: each answers 503 with Retry-After within the bound.
            await ExpectUnavailableAsync(e2e, probes, "submit", () => Submit(api, submission));
            await ExpectUnavailableAsync(e2e, probes, "cancel", () => api.Http.PostAsync($"/api/v1/experiments/{waiting}/cancel", null));

            // Reads all through the outage: each answers from what the silo holds.
            while (outage.Elapsed < Outage)
            {
                foreach (var id in running)
                {
                    await ExpectReadAsync(probes, $"GET {id}", $"/api/v1/experiments/{id}");
                }

                await ExpectReadAsync(probes, "list", "/api/v1/experiments");
                await Task.Delay(500);
            }
        }
        finally
        {
            await end();
            e2e.Log($"storage {ended} after {outage.Elapsed.TotalSeconds:0.0} s");
        }

        e2e.Log($"{probes.Count} probes during the outage:\n  {string.Join("\n  ", probes)}");

        // The submission refused during the outage, retried with its key, is created now; the cancel, repeated, takes effect.
        var retried = await RetryAsync(e2e, "the retried submission", () => Submit(api, submission), response => response.IsSuccessStatusCode);
        var late = JsonSerializer.Deserialize<ExperimentView>(await retried.Content.ReadAsStringAsync(), OrchestratorApp.Json)!.Id;
        await RetryAsync(e2e, "the repeated cancel", () => api.Http.PostAsync($"/api/v1/experiments/{waiting}/cancel", null),
            response => response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict);

        var deadline = Stopwatch.StartNew();
        foreach (var id in running.Append(late))
        {
            var view = await api.WaitForEndAsync(id, FinishBound - deadline.Elapsed);
            Assert.True(view.Status == ExperimentStatus.Succeeded, $"experiment {id} ended {view.Status}:\n{JsonSerializer.Serialize(view, OrchestratorApp.Json)}");
            foreach (var stage in view.Stages)
            {
                var wasRunning = before.TryGetValue(id, out var earlier) && Stage(earlier, stage.Id).Status == StageStatus.Running;
                e2e.Log($"{id} {stage.Id}: {stage.Attempts.Count} attempt(s){(wasRunning ? " (running when the outage began)" : "")}");
                if (!wasRunning)
                {
                    Assert.True(stage.Attempts.Count == 1, $"stage {stage.Id} of {id} was not running when the outage began but ran {stage.Attempts.Count} times");
                }
            }
        }

        Assert.Equal(ExperimentStatus.Cancelled, (await api.WaitForEndAsync(waiting, Timeout)).Status);
        e2e.Log($"every experiment ended {deadline.Elapsed.TotalSeconds:0.0} s after the outage");
        Assert.False(silo.Printed("An unhandled exception has occurred"), "the silo answered a request with 500");
        e2e.Passed();

        async Task ExpectReadAsync(List<string> log, string what, string path)
        {
            var clock = Stopwatch.StartNew();
            using var response = await api.Http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            log.Add($"{outage.Elapsed.TotalSeconds,5:0.0} s {what}: {(int)response.StatusCode} in {clock.ElapsedMilliseconds} ms");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{what} during the outage answered {(int)response.StatusCode}: {body}");
            Assert.True(clock.Elapsed < ReadBound, $"{what} during the outage took {clock.ElapsedMilliseconds} ms");
        }
    }

    private static Task<HttpResponseMessage> Submit(OrchestratorClient api, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments")
        {
            Content = new StringContent(Dags.DataThenPretrain(5), Encoding.UTF8, "application/yaml"),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return api.Http.SendAsync(request);
    }

    /// <summary>A write during the outage: 503 problem details with Retry-After, within <see cref="WriteBound"/>.</summary>
    private static async Task ExpectUnavailableAsync(EndToEndEnvironment e2e, List<string> log, string what, Func<Task<HttpResponseMessage>> send)
    {
        var clock = Stopwatch.StartNew();
        using var response = await send();
        var body = await response.Content.ReadAsStringAsync();
        log.Add($"{what}: {(int)response.StatusCode} in {clock.ElapsedMilliseconds} ms, Retry-After {response.Headers.RetryAfter}");
        e2e.Log($"{what} during the outage: {(int)response.StatusCode} after {clock.Elapsed.TotalSeconds:0.0} s: {body}");
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{what} during the outage answered {(int)response.StatusCode}: {body}");
        Assert.Equal(TimeSpan.FromSeconds(Unavailable.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(clock.Elapsed < WriteBound, $"{what} during the outage took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Sends until <paramref name="done"/> holds, as a client honouring Retry-After would (storage may take a moment to answer again).</summary>
    private static async Task<HttpResponseMessage> RetryAsync(EndToEndEnvironment e2e, string what, Func<Task<HttpResponseMessage>> send, Func<HttpResponseMessage, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var response = await send();
            if (done(response))
            {
                e2e.Log($"{what}: {(int)response.StatusCode} after {clock.Elapsed.TotalSeconds:0.0} s");
                return response;
            }

            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{what} answered {(int)response.StatusCode}: {body}");
            Assert.True(clock.Elapsed < Timeout, $"{what} still answered 503 after {clock.Elapsed.TotalSeconds:0} s: {body}");
            response.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static StageView Stage(ExperimentView view, string id) => view.Stages.Single(stage => stage.Id == id);
}
