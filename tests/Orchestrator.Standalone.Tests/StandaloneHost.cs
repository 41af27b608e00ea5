using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Silo.Api;

namespace Orchestrator.Standalone.Tests;

/// <summary>
/// The standalone wiring in process: silo, API, in-memory bus and the in-process worker with its real runners,
/// artifacts in a folder of its own, and every log line captured.
/// </summary>
public sealed class StandaloneHost : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("standalone-host-").FullName;
    private readonly StandaloneFactory _factory;

    /// <summary>The standalone wiring as configured by default; xUnit builds class fixtures with it, their only public constructor.</summary>
    public StandaloneHost()
        : this(new Dictionary<string, string?>())
    {
    }

    private StandaloneHost(IReadOnlyDictionary<string, string?> settings)
    {
        _factory = new StandaloneFactory
        {
            ConfigureHost = host => host.ConfigureLogging(logging => logging.AddProvider(Logs).AddFilter("Orchestrator", LogLevel.Debug).AddFilter("Trainer", LogLevel.Debug).AddFilter("MassTransit", LogLevel.Debug)),
        };
        _factory.Settings["Orchestrator:InProcessWorker"] = "true";
        _factory.Settings["Artifacts:DataDirectory"] = Path.Combine(_folder, "artifacts");
        _factory.Settings["Worker:WorkDirectory"] = Path.Combine(_folder, "work");
        _factory.Settings["Worker:WorkerId"] = "in-process";
        _factory.Settings["Worker:HeartbeatInterval"] = "00:00:01";
        _factory.Settings["Orchestrator:EventKeepAlive"] = KeepAlive.ToString();
        foreach (var (key, value) in settings)
        {
            _factory.Settings[key] = value;
        }

        Client = _factory.CreateClient();
    }

    /// <summary>How long an events stream stays quiet before a keep-alive: short, so a test sees several.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromMilliseconds(200);

    public LogCapture Logs { get; } = new();

    public HttpClient Client { get; }

    public IServiceProvider Services => _factory.Services;

    /// <summary>The standalone wiring with <paramref name="settings"/> added or overridden, e.g. a RabbitMQ transport instead of the in-memory bus.</summary>
    public static StandaloneHost With(IReadOnlyDictionary<string, string?> settings) => new(settings);

    /// <summary>Submits a DAG in YAML and returns the experiment's id.</summary>
    public async Task<string> SubmitAsync(string yaml, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments") { Content = new StringContent(yaml, Encoding.UTF8, "application/yaml") };
        configure?.Invoke(request);
        var response = await Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
    }

    /// <summary>Reads the experiment's server-sent events until the server ends the stream, leaving out keep-alives.</summary>
    public async Task<List<SseItem<string>>> ReadEventsAsync(string experimentId, TimeSpan timeout)
    {
        var events = new List<SseItem<string>>();
        await foreach (var item in StreamEventsAsync(experimentId, timeout))
        {
            if (item.EventType != ExperimentsApi.KeepAliveEvent)
            {
                events.Add(item);
            }
        }

        return events;
    }

    /// <summary>The experiment's server-sent events as they come, keep-alives included, for at most <paramref name="timeout"/>.</summary>
    public async IAsyncEnumerable<SseItem<string>> StreamEventsAsync(string experimentId, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var response = await Client.GetAsync($"/api/v1/experiments/{experimentId}/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync(cancel.Token)).EnumerateAsync(cancel.Token))
        {
            yield return item;
        }
    }

    /// <summary>The experiment as the API shows it.</summary>
    public async Task<JsonNode> GetAsync(string experimentId) =>
        JsonNode.Parse(await Client.GetStringAsync($"/api/v1/experiments/{experimentId}"))!;

    /// <summary>Stops the host (the worker drains, the bus stops): every line it will write is written after this.</summary>
    public void Dispose()
    {
        _factory.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is the system's to clean up otherwise.
        }
    }
}
