using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Bench;

/// <summary>
/// <c>bench alias-bomb</c>: starts the standalone host as a child process (the one built beside this bench, or <c>--host</c>), sends it
/// a "billion laughs" YAML spec (issue 21) and prints the answer's status and time and the child's resident memory
/// before and after (VmRSS and its peak, VmHWM, from /proc), then stops the child; the last line is JSON. A host that
/// expands the aliases is stopped after <c>--timeout-seconds</c> or once it holds <c>--max-rss-mb</c>, and that is reported.
/// </summary>
internal static class AliasBombBench
{
    public static Command Create()
    {
        var levels = new Option<int>("--levels") { Description = "Levels of aliases; each level repeats the one before --fanout times.", DefaultValueFactory = _ => 9 };
        var fanout = new Option<int>("--fanout") { Description = "Aliases per level.", DefaultValueFactory = _ => 9 };
        var timeout = new Option<int>("--timeout-seconds") { Description = "Give up on the answer after this long.", DefaultValueFactory = _ => 20 };
        var maxRss = new Option<int>("--max-rss-mb") { Description = "Stop the child once its resident memory passes this.", DefaultValueFactory = _ => 4096 };
        var host = new Option<FileInfo?>("--host")
        {
            Description = "Another build's standalone host to measure (its Orchestrator.Standalone.dll or apphost, or an older Orchestrator.Silo.dll); the one built beside this bench by default.",
        };
        var command = new Command("alias-bomb", "Send a nested-alias YAML bomb to a standalone host in a child process; print the answer's time and the child's memory growth.")
        {
            levels,
            fanout,
            timeout,
            maxRss,
            host,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(levels), parse.GetValue(fanout), TimeSpan.FromSeconds(parse.GetValue(timeout)), parse.GetValue(maxRss), parse.GetValue(host), cancellationToken));
        return command;
    }

    /// <summary>The bomb: level 0 lists "lol" <paramref name="fanout"/> times, each next level lists the one before as often.</summary>
    public static string Yaml(int levels, int fanout)
    {
        var text = new StringBuilder("name: laughs\n");
        text.Append($"l0: &l0 [{string.Join(", ", Enumerable.Repeat("\"lol\"", fanout))}]\n");
        for (var level = 1; level < levels; level++)
        {
            text.Append($"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", fanout))}]\n");
        }

        return text.Append($"stages: *l{levels - 1}\n").ToString();
    }

    private static async Task<int> RunAsync(int levels, int fanout, TimeSpan timeout, int maxRssMb, FileInfo? hostFile, CancellationToken cancellationToken)
    {
        var bomb = Yaml(levels, fanout);
        var expanded = Enumerable.Range(0, levels).Aggregate(1.0, (nodes, _) => 1 + (nodes * fanout));
        Console.WriteLine($"alias-bomb: {Encoding.UTF8.GetByteCount(bomb)} bytes, {levels} levels x {fanout} ({expanded:N0} nodes if expanded)");

        using var host = StandaloneChild.Start(hostFile, []);
        var (child, client) = (host.Process, host.Client);
        var ready = await host.WaitReadyAsync(cancellationToken);
        if (ready is null)
        {
            await Console.Error.WriteLineAsync($"alias-bomb: the host did not become ready; it {(child.HasExited ? $"exited with {child.ExitCode}" : "is still starting")}");
            return 1;
        }

        // A small spec with an alias first, so the figure is the bomb's cost and not the first request's JIT.
        var warmUp = await TimeAsync(client, "name: warm\nx: &x [1]\nstages: *x\n", TimeSpan.FromSeconds(30), cancellationToken);
        var before = host.Memory();
        Console.WriteLine($"host: pid {child.Id}, ready in {ready.Value.TotalSeconds:0.0} s, warm-up answered {warmUp.Status} in {warmUp.Milliseconds:0.0} ms; " +
            $"VmRSS {before.RssMb:0.0} MB, VmHWM {before.HwmMb:0.0} MB");

        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var overLimit = WatchMemoryAsync(host, maxRssMb, watch.Token);
        var answer = await TimeAsync(client, bomb, timeout, cancellationToken);
        await watch.CancelAsync();
        var killedAtMb = await overLimit;
        var after = child.HasExited ? before with { RssMb = double.NaN } : host.Memory();
        var peak = killedAtMb ?? after.HwmMb;
        var outcome = killedAtMb is not null ? $"stopped at {killedAtMb:0} MB resident (--max-rss-mb {maxRssMb})"
            : answer.Status is null ? $"no answer in {timeout.TotalSeconds:0} s" : "answered";

        Console.WriteLine($"answer: {answer.Status?.ToString(CultureInfo.InvariantCulture) ?? "none"} in {answer.Milliseconds:0.0} ms ({outcome})");
        var rss = double.IsNaN(after.RssMb) ? "(the host is gone)" : $"{after.RssMb:0.0} MB (+{after.RssMb - before.RssMb:0.0})";
        Console.WriteLine($"VmRSS {before.RssMb:0.0} -> {rss}, VmHWM {before.HwmMb:0.0} -> {peak:0.0} MB (+{peak - before.HwmMb:0.0})");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "alias-bomb",
            bytes = Encoding.UTF8.GetByteCount(bomb),
            levels,
            fanout,
            status = answer.Status,
            answer_ms = Math.Round(answer.Milliseconds, 1),
            outcome,
            rss_before_mb = Math.Round(before.RssMb, 1),
            rss_after_mb = double.IsNaN(after.RssMb) ? (double?)null : Math.Round(after.RssMb, 1),
            rss_growth_mb = double.IsNaN(after.RssMb) ? (double?)null : Math.Round(after.RssMb - before.RssMb, 1),
            hwm_before_mb = Math.Round(before.HwmMb, 1),
            hwm_after_mb = Math.Round(peak, 1),
            hwm_growth_mb = Math.Round(peak - before.HwmMb, 1),
        }));
        return answer.Status is >= 400 and < 500 ? 0 : 1;
    }

    private static async Task<(int? Status, double Milliseconds)> TimeAsync(HttpClient client, string yaml, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await client.PostAsync("/api/v1/experiments", new StringContent(yaml, Encoding.UTF8, "application/yaml"), limit.Token);
            await response.Content.ReadAsStringAsync(limit.Token);
            return ((int)response.StatusCode, clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception exception) when (exception is OperationCanceledException or HttpRequestException)
        {
            // No answer in time, or the host died (it was stopped for its memory, or the kernel killed it).
            return (null, clock.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Samples the child's memory every 20 ms; stops it once it passes <paramref name="maxRssMb"/> and returns what it held then.</summary>
    private static async Task<double?> WatchMemoryAsync(StandaloneChild host, int maxRssMb, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !host.Process.HasExited)
        {
            var memory = host.Memory();
            if (memory.RssMb > maxRssMb)
            {
                host.Stop();
                return Math.Max(memory.RssMb, memory.HwmMb);
            }

            await Task.Delay(20, CancellationToken.None);
        }

        return null;
    }
}
