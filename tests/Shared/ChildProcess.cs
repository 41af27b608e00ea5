using System.Collections.Concurrent;
using System.Diagnostics;

namespace Orchestrator.Testing;

/// <summary>
/// A host started as <c>dotnet path/to.dll ...</c>: its stdout and stderr are kept line by line (with the time
/// since it started) so a test can wait for a line and print everything when it fails. Disposing kills it.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Lock _lock = new();
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _waiters = [];

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Lines => [.. _lines];

    public static ChildProcess Start(string name, string dll, IEnumerable<string> arguments)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} does not exist: build the solution (the test project builds it through a project reference)", dll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The hosts choose their own environment; the test host's would only confuse them.
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        start.Environment.Remove("ASPNETCORE_URLS");

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, line) => child.Add(line.Data);
        process.ErrorDataReceived += (_, line) => child.Add(line.Data is null ? null : "stderr: " + line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>True if any line so far contains <paramref name="text"/>.</summary>
    public bool Printed(string text) => _lines.Any(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>The first line that contains <paramref name="text"/>, printed before or after the call, waiting up to <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lines.FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } printed)
            {
                return printed;
            }

            _waiters.Add((text, seen));
        }

        try
        {
            return await seen.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} printed no line containing '{text}' within {timeout.TotalSeconds:0.#} s{(HasExited ? $" (it exited with {_process.ExitCode})" : "")}");
        }
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the process is asked to stop and may drain first.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", $"{_process.Id}"]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} ({Name}) exited with {kill.ExitCode}");
        }

        Add($"[test] {Name} sent SIGTERM");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit; false when it is still running.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: the process gets no chance to drain, deregister or flush anything.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(TimeSpan.FromSeconds(30));
            Add($"[test] {Name} killed");
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        var stamped = $"{_clock.Elapsed.TotalSeconds,7:0.000} {line}";
        lock (_lock)
        {
            _lines.Enqueue(stamped);
            foreach (var waiter in _waiters.Where(waiter => line.Contains(waiter.Text, StringComparison.Ordinal)).ToList())
            {
                waiter.Seen.TrySetResult(stamped);
                _waiters.Remove(waiter);
            }
        }
    }
}
