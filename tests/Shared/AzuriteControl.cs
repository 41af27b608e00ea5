using System.Diagnostics;

namespace Orchestrator.Testing;

/// <summary>
/// Azurite's blob and table processes, which the test script started (their pids in <see cref="TestServers.AzuriteBlobPidFile"/>
/// and <see cref="TestServers.AzuriteTablePidFile"/>), for the storage outage tests: frozen (SIGSTOP) and thawed (SIGCONT),
/// or stopped (SIGTERM) and started again by the script (<c>scripts/test-services.sh start-azurite</c>: the same install,
/// port and data folder, the new pids in the same files). Test assemblies run side by side, so a test that uses Azurite
/// outside the end-to-end collection holds a shared lease (<see cref="ShareAsync"/>) and an outage waits for an exclusive
/// one (<see cref="TakeAsync"/>): a lock file beside the pid files, locked as .NET locks files on Unix (flock).
/// </summary>
internal static class AzuriteControl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a lease is waited for: an outage test holds Azurite for about a minute and a half.</summary>
    private static readonly TimeSpan LeaseTimeout = TimeSpan.FromMinutes(5);

    /// <summary>A shared lease on Azurite for a test that uses it: no outage begins while it is held. Nothing without the test servers.</summary>
    public static Task<IDisposable> ShareAsync() => LeaseAsync(FileAccess.Read, FileShare.Read);

    /// <summary><see cref="ShareAsync"/>, for a constructor.</summary>
    public static IDisposable Share() => ShareAsync().GetAwaiter().GetResult();

    /// <summary>The exclusive lease an outage holds: every shared lease has been given back, and no new one is given until this one is.</summary>
    public static Task<IDisposable> TakeAsync() => LeaseAsync(FileAccess.ReadWrite, FileShare.None);

    private static async Task<IDisposable> LeaseAsync(FileAccess access, FileShare share)
    {
        if (Environment.GetEnvironmentVariable(TestServers.AzuriteBlobPidFile) is not { Length: > 0 } pidFile)
        {
            return new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.DeleteOnClose);
        }

        var path = Path.Combine(Path.GetDirectoryName(pidFile)!, "azurite.lease");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, access, share);
            }
            catch (IOException) when (clock.Elapsed < LeaseTimeout)
            {
                await Task.Delay(200);
            }
        }
    }

    private static IEnumerable<int> Pids() =>
        [.. new[] { TestServers.AzuriteBlobPidFile, TestServers.AzuriteTablePidFile }
            .Select(variable => int.Parse(File.ReadAllText(TestServers.Get(variable)).Trim(), System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>SIGSTOP to both: connections stay open, requests wait unanswered.</summary>
    public static Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT to both.</summary>
    public static Task ThawAsync() => SignalAsync("CONT");

    /// <summary>SIGTERM to both, and waits until they have exited (Azurite saves its table store as it stops).</summary>
    public static async Task StopAsync()
    {
        var pids = Pids().ToList();
        await SignalAsync("TERM");
        var clock = Stopwatch.StartNew();
        while (pids.Any(pid => Directory.Exists($"/proc/{pid}")))
        {
            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException($"Azurite (pids {string.Join(", ", pids)}) did not exit within {Timeout.TotalSeconds:0} s of SIGTERM");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Starts again whichever of the two is not running, through the test script, and waits until both listen.</summary>
    public static Task StartAsync() => RunAsync("bash", TestServers.Get(TestServers.Services), "start-azurite");

    private static async Task SignalAsync(string signal)
    {
        foreach (var pid in Pids())
        {
            await RunAsync("kill", $"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(cancellation.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await errors}");
        }
    }
}
