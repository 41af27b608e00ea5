using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Orchestrator.Silo.Tests.EndToEnd;

namespace Orchestrator.Silo.Tests.Observability;

/// <summary>
/// A real Prometheus (the binary in <see cref="TestServers.Prometheus"/>) on 127.0.0.1 and a free port, with a
/// generated configuration that scrapes the given targets every second and its storage in a temp folder. Disposing
/// kills it and removes the folder.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly DirectoryInfo _root;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http;

    private PrometheusServer(Process process, DirectoryInfo root, int port)
    {
        _process = process;
        _root = root;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>What Prometheus printed, for a failing test's output.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts Prometheus scraping each job's <c>host:port</c> at <c>/metrics</c>, and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targetsByJob)
    {
        var root = Directory.CreateTempSubdirectory("prometheus-");
        var port = SiloPorts.FreePort();
        var config = new StringBuilder("""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:

            """);
        foreach (var (job, target) in targetsByJob)
        {
            config.Append(CultureInfo.InvariantCulture, $"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n");
        }

        var configFile = Path.Combine(root.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config.ToString());
        var start = new ProcessStartInfo(TestServers.Get(TestServers.Prometheus))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            $"--config.file={configFile}",
            $"--storage.tsdb.path={Path.Combine(root.FullName, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new PrometheusServer(process, root, port);
        process.OutputDataReceived += (_, line) => server.Add(line.Data);
        process.ErrorDataReceived += (_, line) => server.Add(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (!await server.IsReadyAsync())
        {
            if (process.HasExited || clock.Elapsed > StartTimeout)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"Prometheus did not become ready within {StartTimeout.TotalSeconds:0} s; it printed:\n{server.Log}");
            }

            await Task.Delay(200);
        }

        return server;
    }

    /// <summary>Evaluates <paramref name="expression"/> at <paramref name="at"/> through <c>/api/v1/query</c>; the result's series or samples.</summary>
    public async Task<JsonElement> QueryAsync(string expression, DateTimeOffset at)
    {
        var time = (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        using var response = await _http.GetAsync($"api/v1/query?query={Uri.EscapeDataString(expression)}&time={time}");
        var body = await response.Content.ReadAsStringAsync();
        var document = JsonDocument.Parse(body).RootElement;
        if (!response.IsSuccessStatusCode || document.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus refused '{expression}' ({(int)response.StatusCode}): {body}");
        }

        return document.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Waits until <paramref name="expression"/> returns data, as of now.</summary>
    public async Task WaitForDataAsync(string expression, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while ((await QueryAsync(expression, DateTimeOffset.UtcNow)).GetArrayLength() == 0)
        {
            Assert.True(clock.Elapsed < timeout, $"Prometheus had no data for '{expression}' within {timeout.TotalSeconds:0} s");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }

        _process.Dispose();
        _http.Dispose();
        _root.Delete(recursive: true);
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            return (await _http.GetAsync("-/ready")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
