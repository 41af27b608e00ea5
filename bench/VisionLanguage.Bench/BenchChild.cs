using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VisionLanguage.Bench;

/// <summary>
/// A bench configuration run in a process of its own (this command again, with the arguments given), so that its peak
/// resident set and its threads are its own: its lines are echoed with a label, and its last line is its JSON result.
/// </summary>
internal static class BenchChild
{
    /// <summary>Runs <c>bench <paramref name="arguments"/></c> in a child process; its last line's JSON, or null (said why) when it failed.</summary>
    public static async Task<JsonNode?> RunAsync(IEnumerable<string> arguments, string label)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("this process has no executable path to start the bench's child processes from");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true };
        // Started as `dotnet VisionLanguage.Bench.dll`, the child needs the assembly; started by its apphost, it does not.
        if (string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.Ordinal))
        {
            start.ArgumentList.Add(typeof(BenchChild).Assembly.Location);
        }

        start.ArgumentList.Add("bench");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host} for {label}");
        string? last = null;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            Console.WriteLine($"  [{label}] {line}");
            last = line;
        }

        await process.WaitForExitAsync();
        if (process.ExitCode != 0 || last is null)
        {
            await Console.Error.WriteLineAsync($"the bench's {label} process exited with code {process.ExitCode}; its errors are above");
            return null;
        }

        return JsonNode.Parse(last);
    }
}
