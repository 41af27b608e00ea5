using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Silo.Api;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// The orchestrator's HTTP API as the end-to-end tests use it, with an API key (<paramref name="apiKey"/>) on every
/// request when given; every wait polls with a deadline.
/// </summary>
internal sealed class OrchestratorClient(Uri baseAddress, string? apiKey = null) : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    // Longer than the server's own bound on any request: creating the largest experiment may take 8 s plus 40 ms a stage
    // (28 s) before the API answers 503, and a client that gives up first sees no answer at all.
    private readonly HttpClient _http = Keyed(new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(40) }, apiKey);
    private readonly HttpClient _events = Keyed(new() { BaseAddress = baseAddress, Timeout = System.Threading.Timeout.InfiniteTimeSpan }, apiKey);

    /// <summary>The client itself, for requests the methods here do not make (and to see their status codes).</summary>
    public HttpClient Http => _http;

    public Uri BaseAddress => baseAddress;

    public async Task<string> SubmitAsync(string yaml)
    {
        using var content = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        using var response = await _http.PostAsync("/api/v1/experiments", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /api/v1/experiments answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<ExperimentView>(body, OrchestratorApp.Json)!.Id;
    }

    public async Task<ExperimentView> GetAsync(string id) =>
        (await _http.GetFromJsonAsync<ExperimentView>($"/api/v1/experiments/{id}", OrchestratorApp.Json))!;

    /// <summary>Reads the experiment's server-sent events, keep-alives left out, until the silo ends the stream; fails after <paramref name="timeout"/>.</summary>
    public async Task<List<(string Type, ExperimentEvent Data)>> ReadEventsAsync(string id, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var response = await _events.GetAsync($"/api/v1/experiments/{id}/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        response.EnsureSuccessStatusCode();
        var events = new List<(string, ExperimentEvent)>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync(cancel.Token)).EnumerateAsync(cancel.Token))
        {
            if (item.EventType != ExperimentsApi.KeepAliveEvent)
            {
                events.Add((item.EventType, JsonSerializer.Deserialize<ExperimentEvent>(item.Data, OrchestratorApp.Json)!));
            }
        }

        return events;
    }

    public async Task<LineageView> LineageAsync(string id) =>
        (await _http.GetFromJsonAsync<LineageView>($"/api/v1/experiments/{id}/lineage", OrchestratorApp.Json))!;

    /// <summary>The silo's <c>/metrics</c>, in Prometheus' text format.</summary>
    public Task<string> MetricsAsync() => _http.GetStringAsync("/metrics");

    /// <summary>Scrapes <c>/metrics</c> until it contains every one of <paramref name="lines"/> (the gauges refresh every few seconds).</summary>
    public async Task<string> WaitForMetricsAsync(TimeSpan timeout, params string[] lines)
    {
        var clock = Stopwatch.StartNew();
        var text = await MetricsAsync();
        while (!lines.All(line => text.Contains(line, StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < timeout, $"/metrics did not show {string.Join(", ", lines)} within {timeout.TotalSeconds:0} s; it shows:\n{text}");
            await Task.Delay(PollInterval);
            text = await MetricsAsync();
        }

        return text;
    }

    public async Task<SchedulerSnapshot> WorkersAsync() =>
        (await _http.GetFromJsonAsync<SchedulerSnapshot>("/api/v1/workers", OrchestratorApp.Json))!;

    /// <summary>Polls the experiment until <paramref name="condition"/> holds; fails with the last view after <paramref name="timeout"/>.</summary>
    public async Task<ExperimentView> WaitForAsync(string id, string what, Func<ExperimentView, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        ExperimentView? last = null;
        while (clock.Elapsed < timeout)
        {
            last = await GetAsync(id);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(PollInterval);
        }

        Assert.Fail($"experiment {id} did not reach '{what}' within {timeout.TotalSeconds:0} s; last seen:\n{JsonSerializer.Serialize(last, OrchestratorApp.Json)}");
        return last!;
    }

    /// <summary>Waits until the experiment has ended, whichever way.</summary>
    public Task<ExperimentView> WaitForEndAsync(string id, TimeSpan timeout) =>
        WaitForAsync(id, "an end", view => view.Status is not ExperimentStatus.Running, timeout);

    /// <summary>Waits until the scheduler lists the worker as registered and alive.</summary>
    public async Task WaitForWorkerAsync(string workerId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if ((await WorkersAsync()).Workers.Any(worker => worker.WorkerId == workerId && !worker.Lost))
            {
                return;
            }

            await Task.Delay(PollInterval);
        }

        Assert.Fail($"worker {workerId} did not register within {timeout.TotalSeconds:0} s");
    }

    /// <summary>True once <c>/readyz</c> answers 200: the silo answers grain calls.</summary>
    public async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/readyz");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private static HttpClient Keyed(HttpClient client, string? apiKey)
    {
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add(Orchestrator.Silo.Security.ApiKeyAuthenticationHandler.Header, apiKey);
        }

        return client;
    }

    public void Dispose()
    {
        _http.Dispose();
        _events.Dispose();
    }
}
