using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json.Nodes;

namespace Orchestrator.Bench;

/// <summary>
/// The standalone host run as a child process for a benchmark, as a user runs it: on a free HTTP port and free Orleans
/// ports, its files in a temporary folder (deleted on dispose), its output drained; with the resident memory and CPU time
/// the kernel reports for it.
/// </summary>
internal sealed class StandaloneChild : IDisposable
{
    private readonly DirectoryInfo _folder;

    private StandaloneChild(Process process, int port, DirectoryInfo folder, string gc)
    {
        Process = process;
        Port = port;
        _folder = folder;
        Gc = gc;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public Process Process { get; }

    public int Port { get; }

    /// <summary>A client of the host's HTTP API, without a timeout of its own.</summary>
    public HttpClient Client { get; }

    /// <summary>The host's garbage collector: "server" or "workstation".</summary>
    public string Gc { get; }

    /// <summary>
    /// The standalone host built beside this bench (bench/Orchestrator.Bench builds src/Orchestrator.Standalone without
    /// referencing it, so this output carries no TorchSharp): its path is recorded at build time.
    /// </summary>
    public static string BuiltStandaloneHost =>
        typeof(StandaloneChild).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(attribute => attribute.Key == "StandaloneHost").Value!;

    /// <summary>
    /// Starts <paramref name="host"/> (a dll runs under dotnet, an apphost as it is; the built one when null) with
    /// <paramref name="arguments"/> after its ports and folders; <paramref name="serverGc"/> sets its collector, null keeps
    /// the one its runtimeconfig.json names.
    /// </summary>
    public static StandaloneChild Start(FileInfo? host, IEnumerable<string> arguments, bool? serverGc = null)
    {
        var path = host?.FullName ?? BuiltStandaloneHost;
        var start = path.EndsWith(".dll", StringComparison.Ordinal)
            ? new ProcessStartInfo("dotnet") { ArgumentList = { path } }
            : new ProcessStartInfo(path);
        var folder = Directory.CreateTempSubdirectory("orchestrator-bench-");
        var port = FreePort();

        // No --standalone: older silos were standalone by default too, and the silo of today refuses the flag.
        foreach (var argument in new[]
        {
            $"--urls=http://127.0.0.1:{port}", $"--Orchestrator:SiloPort={FreePort()}", $"--Orchestrator:GatewayPort={FreePort()}",
            $"--Artifacts:DataDirectory={Path.Combine(folder.FullName, "artifacts")}", $"--Worker:WorkDirectory={Path.Combine(folder.FullName, "work")}",
            "--Logging:LogLevel:Default=Warning",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        if (serverGc is { } server)
        {
            start.Environment["DOTNET_gcServer"] = server ? "1" : "0";
        }

        start.RedirectStandardOutput = start.RedirectStandardError = true;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var gc = (serverGc ?? ConfiguredServerGc(path)) ? "server" : "workstation";
        return new StandaloneChild(process, port, folder, gc);
    }

    /// <summary>How long the host took to answer <c>/readyz</c> with 200; null when it exited or took over two minutes.</summary>
    public async Task<TimeSpan?> WaitReadyAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !Process.HasExited)
        {
            try
            {
                using var response = await Client.GetAsync("/readyz", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        return null;
    }

    /// <summary>The host's resident memory and its peak so far.</summary>
    public ProcessMemory Memory() => ProcessMemory.Of(Process);

    /// <summary>
    /// CPU time the host has used, user and system, from /proc/PID/stat (fields 14 and 15, in the kernel's USER_HZ
    /// ticks, 100 a second on Linux).
    /// </summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Process.Id}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public void Stop()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Stop();
        Client.Dispose();
        Process.Dispose();
        _folder.Delete(recursive: true);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether the host's runtimeconfig.json turns the server collector on (a Web SDK project does by default).</summary>
    private static bool ConfiguredServerGc(string path)
    {
        var config = Path.ChangeExtension(path.EndsWith(".dll", StringComparison.Ordinal) ? path : path + ".dll", ".runtimeconfig.json");
        return File.Exists(config)
            && JsonNode.Parse(File.ReadAllText(config))?["runtimeOptions"]?["configProperties"]?["System.GC.Server"]?.GetValue<bool>() == true;
    }
}

/// <summary>A process's resident memory (VmRSS) and its peak so far (VmHWM), in MB, from /proc/PID/status.</summary>
internal sealed record ProcessMemory(double RssMb, double HwmMb)
{
    public static ProcessMemory Of(Process process)
    {
        try
        {
            var fields = File.ReadLines($"/proc/{process.Id}/status")
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2 && parts[0] is "VmRSS" or "VmHWM")
                .ToDictionary(parts => parts[0], parts => double.Parse(parts[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024);
            return new(fields.GetValueOrDefault("VmRSS", double.NaN), fields.GetValueOrDefault("VmHWM", double.NaN));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The process has just exited.
            return new(double.NaN, double.NaN);
        }
    }
}
