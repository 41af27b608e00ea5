using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Bench;

/// <summary>
/// <c>bench live</c> (issue 29): a backlog of live experiments on the standalone host in a child process, through its
/// HTTP API as a user would touch it. The host's one worker has free slots, but every experiment's first stage asks
/// for a CUDA worker, so nothing it queues can be placed and every experiment stays Running. After untimed warm-up POSTs
/// (the host's code compiled just in time would otherwise be timed at the first level only), at each level of
/// live experiments it measures the host's idle CPU share (from /proc, no request arriving), its resident memory, and
/// the latency of sequential POSTs; then a burst of submissions from concurrent clients, each 503 retried with its
/// Idempotency-Key after Retry-After, while small runnable experiments dispatch beside it. The last line is JSON.
/// </summary>
internal static partial class LiveBench
{
    /// <summary>
    /// The bench's 7-stage DAG whose first stage asks for a CUDA worker, which the standalone host's CPU worker never
    /// is. (A gang of two would wait too, but its first stage makes a dataset, which no gang runs.)
    /// </summary>
    public static readonly string WaitingDag = BenchDag.Yaml.Replace(
        "    kind: dataset.synthetic\n", "    kind: dataset.synthetic\n    resources: { device: cuda }\n", StringComparison.Ordinal);

    /// <summary>Two tiny dataset stages one after the other: the second's dispatch is measured while the burst runs.</summary>
    private const string RunnableDag = """
        name: running
        stages:
          - { id: a, kind: dataset.synthetic, config: { images: 10, human_images: 2, test_images: 2, image_size: 16 } }
          - { id: b, kind: dataset.synthetic, needs: [a], config: { images: 10, human_images: 2, test_images: 2, image_size: 16 } }
        """;

    public static Command Create()
    {
        var levels = new Option<string>("--levels") { Description = "Live experiments to measure at, ascending, comma-separated.", DefaultValueFactory = _ => "1000,10000,100000" };
        var posts = new Option<int>("--posts") { Description = "Sequential POSTs timed at each level.", DefaultValueFactory = _ => 1000 };
        var burst = new Option<int>("--burst") { Description = "Submissions in the burst after the last level (0: none).", DefaultValueFactory = _ => 5000 };
        var clients = new Option<int>("--burst-clients") { Description = "Concurrent HTTP clients of the burst.", DefaultValueFactory = _ => 64 };
        var warmup = new Option<int>("--warmup-posts") { Description = "Sequential POSTs sent untimed before the first level, so that the first level's POSTs do not time the host's just-in-time compilation.", DefaultValueFactory = _ => 500 };
        var idle = new Option<int>("--idle-seconds") { Description = "How long the idle CPU share is read at each level.", DefaultValueFactory = _ => 30 };
        var preload = new Option<int>("--preload-clients") { Description = "Concurrent clients that bring the backlog up to each level.", DefaultValueFactory = _ => 64 };
        var gc = new Option<string?>("--gc") { Description = "The host's garbage collector: server or workstation; the one its runtimeconfig.json names by default." };
        var host = new Option<FileInfo?>("--host") { Description = "Another build's standalone host (Orchestrator.Standalone.dll or apphost); the one built beside this bench by default." };
        var command = new Command("live", "Keep experiments live on a standalone host in a child process and measure idle CPU, memory, POST latency and a burst through its HTTP API.")
        {
            levels, posts, warmup, burst, clients, idle, preload, gc, host,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(gc) is { } collector && collector is not ("server" or "workstation"))
            {
                result.AddError($"--gc must be server or workstation; got '{collector}'");
            }

            if (ParseLevels(result.GetValue(levels)) is [var first, ..] && result.GetValue(warmup) >= first)
            {
                result.AddError($"--warmup-posts ({result.GetValue(warmup)}) must be fewer than the first of --levels ({first}): the warm-up's experiments count among the first level's");
            }

        });
        levels.Validators.Add(result =>
        {
            if (ParseLevels(result.GetValueOrDefault<string>()) is null)
            {
                result.AddError($"--levels must be positive counts in ascending order, e.g. 1000,10000; got '{result.GetValueOrDefault<string>()}'");
            }
        });
        foreach (var (option, least) in new[] { (posts, 1), (clients, 1), (idle, 1), (preload, 1), (burst, 0), (warmup, 0) })
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < least)
                {
                    result.AddError($"{option.Name} must be at least {least}, got {result.GetValueOrDefault<int>()}");
                }
            });
        }

        command.SetAction((parse, cancellationToken) => RunAsync(
            new LiveSettings(
                ParseLevels(parse.GetValue(levels))!, parse.GetValue(posts), parse.GetValue(burst), parse.GetValue(clients),
                TimeSpan.FromSeconds(parse.GetValue(idle)), parse.GetValue(preload), parse.GetValue(gc) is { } name ? name == "server" : null,
                parse.GetValue(warmup)),
            parse.GetValue(host),
            cancellationToken));
        return command;
    }

    private static IReadOnlyList<int>? ParseLevels(string? text)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var levels = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var level) || level < 1 || (levels.Count > 0 && level <= levels[^1]))
            {
                return null;
            }

            levels.Add(level);
        }

        return levels.Count > 0 ? levels : null;
    }

    private static async Task<int> RunAsync(LiveSettings settings, FileInfo? hostFile, CancellationToken cancellationToken)
    {
        // No rate limit: the bench is one caller sending far more than a user may.
        using var host = StandaloneChild.Start(hostFile, ["--RateLimits:PermitsPerSecond=0"], settings.ServerGc);
        if (await host.WaitReadyAsync(cancellationToken) is not { } ready)
        {
            await Console.Error.WriteLineAsync($"bench live: the host did not become ready; it {(host.Process.HasExited ? $"exited with {host.Process.ExitCode}" : "is still starting")}");
            return 1;
        }

        Log($"host pid {host.Process.Id} ready in {ready.TotalSeconds:0.0} s ({host.Gc} GC)");
        var live = 0;
        for (; live < settings.WarmupPosts; live++)
        {
            var status = await PostAsync(host.Client, WaitingDag, key: null, cancellationToken);
            if (status != HttpStatusCode.Created)
            {
                await Console.Error.WriteLineAsync($"bench live: a warm-up POST answered {(int)status}");
                return 1;
            }
        }

        var measured = new List<object>();
        var first = default(LevelFigures);
        var last = default(LevelFigures);
        foreach (var level in settings.Levels)
        {
            var clock = Stopwatch.StartNew();
            var preloaded = await SubmitManyAsync(host.Client, WaitingDag, Math.Max(0, level - live), settings.PreloadClients, cancellationToken);
            if (preloaded.Failed > 0)
            {
                await Console.Error.WriteLineAsync($"bench live: {preloaded.Failed} of {level - live} preloading submissions failed (statuses {preloaded.Statuses()}; the first: {preloaded.FirstError})");
                return 1;
            }

            live = Math.Max(live, level);
            Log($"{live} live ({clock.Elapsed.TotalSeconds:0.0} s to preload {preloaded.Created}); measuring idle CPU for {settings.Idle.TotalSeconds:0} s");
            var figures = await MeasureLevelAsync(host, live, settings, cancellationToken);
            live += settings.Posts;
            measured.Add(figures.Json());
            Log($"at {figures.Live}: idle CPU {figures.IdleCpuShare:P1} of a core, RSS {figures.RssMb:0} MB, POST p50 {figures.Posts.Percentile(50):0.0} ms p99 {figures.Posts.Percentile(99):0.0} ms");
            first ??= figures;
            last = figures;
        }

        BurstFigures? burst = null;
        if (settings.Burst > 0)
        {
            Log($"burst of {settings.Burst} from {settings.BurstClients} clients at {live} live");
            burst = await BurstAsync(host, settings, cancellationToken);
            live += burst.Created;
        }

        var memory = host.Memory();
        var perExperiment = last!.Live > first!.Live ? (last.RssMb - first.RssMb) * 1024 * 1024 / (last.Live - first.Live) : double.NaN;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "live",
            gc = host.Gc,
            live_experiments = live,
            peak_rss_bytes = (long)(memory.HwmMb * 1024 * 1024),
            rss_bytes_per_experiment = double.IsNaN(perExperiment) ? (double?)null : Math.Round(perExperiment),
            idle_cpu_share = Math.Round(last.IdleCpuShare, 4),
            post_p50_ms = Math.Round(last.Posts.Percentile(50), 2),
            post_p99_ms = Math.Round(last.Posts.Percentile(99), 2),
            post_p999_ms = Math.Round(last.Posts.Percentile(99.9), 2),
            post_max_ms = Math.Round(last.Posts.Percentile(100), 2),
            levels = measured,
            burst = burst?.Json(),
            burst_created_per_s = burst is null ? (double?)null : Math.Round(burst.CreatedPerSecond, 1),
            burst_500 = burst?.ServerErrors,
            burst_503 = burst?.Unavailable,
            burst_dispatch_p99_ms = burst?.DispatchP99Ms,
        }));
        return burst is { ServerErrors: > 0 } or { Lost: > 0 } ? 1 : 0;
    }

    /// <summary>Idle CPU and memory at <paramref name="live"/> experiments, then the latency of sequential POSTs.</summary>
    private static async Task<LevelFigures> MeasureLevelAsync(StandaloneChild host, int live, LiveSettings settings, CancellationToken cancellationToken)
    {
        // Let the preload's last writes and collections settle before the idle reading.
        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        var (cpuBefore, clock) = (host.CpuTime(), Stopwatch.StartNew());
        await Task.Delay(settings.Idle, cancellationToken);
        var idleShare = (host.CpuTime() - cpuBefore) / clock.Elapsed;
        var memory = host.Memory();

        var posts = new Latencies();
        for (var post = 0; post < settings.Posts; post++)
        {
            var timer = Stopwatch.StartNew();
            var status = await PostAsync(host.Client, WaitingDag, key: null, cancellationToken);
            posts.Add(timer.Elapsed.TotalMilliseconds);
            if (status != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"a timed POST at {live} live answered {(int)status}");
            }
        }

        return new LevelFigures(live, idleShare, memory.RssMb, posts);
    }

    /// <summary>
    /// The burst: every submission has its own Idempotency-Key and is sent again after Retry-After while it answers 503;
    /// runnable experiments are submitted beside it one after another, and the dispatch latency histogram's growth over
    /// the burst gives their dispatch p99.
    /// </summary>
    private static async Task<BurstFigures> BurstAsync(StandaloneChild host, LiveSettings settings, CancellationToken cancellationToken)
    {
        var before = await DispatchHistogramAsync(host.Client, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = Task.Run(async () =>
        {
            var submitted = 0;
            while (!stop.IsCancellationRequested)
            {
                await PostAsync(host.Client, RunnableDag, key: null, CancellationToken.None);
                submitted++;
                await Task.Delay(200, CancellationToken.None);
            }

            return submitted;
        }, CancellationToken.None);

        var clock = Stopwatch.StartNew();
        var result = await SubmitManyAsync(host.Client, WaitingDag, settings.Burst, settings.BurstClients, cancellationToken, retryUnavailable: true);
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        var runnable = await running;
        // The runnable experiments' second stages become ready once their first ones finish: give them a moment.
        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        var after = await DispatchHistogramAsync(host.Client, cancellationToken);
        return new BurstFigures(result, elapsed, runnable, Percentile(before, after, 0.99));
    }

    /// <summary>Submits <paramref name="count"/> copies of <paramref name="dag"/> from <paramref name="clients"/> clients at once.</summary>
    private static async Task<Submissions> SubmitManyAsync(
        HttpClient client, string dag, int count, int clients, CancellationToken cancellationToken, bool retryUnavailable = false)
    {
        var submissions = new Submissions();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = cancellationToken },
            async (_, token) =>
            {
                var key = Guid.NewGuid().ToString("N");
                while (true)
                {
                    var (status, retryAfter, body) = await PostWithRetryAfterAsync(client, dag, key, token);
                    submissions.Count(status, body);
                    if (status == HttpStatusCode.ServiceUnavailable && retryUnavailable)
                    {
                        await Task.Delay(retryAfter ?? TimeSpan.FromSeconds(1), token);
                        continue;
                    }

                    return;
                }
            });
        return submissions;
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, string dag, string? key, CancellationToken cancellationToken) =>
        (await PostWithRetryAfterAsync(client, dag, key, cancellationToken)).Status;

    private static async Task<(HttpStatusCode Status, TimeSpan? RetryAfter, string Body)> PostWithRetryAfterAsync(HttpClient client, string dag, string? key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments") { Content = new StringContent(dag, Encoding.UTF8, "application/yaml") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, response.Headers.RetryAfter?.Delta, body);
    }

    /// <summary>The dispatch latency histogram's cumulative bucket counts on <c>/metrics</c>, summed over its series, by upper bound in seconds.</summary>
    private static async Task<SortedDictionary<double, long>> DispatchHistogramAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var text = await client.GetStringAsync("/metrics", cancellationToken);
        var buckets = new SortedDictionary<double, long>();
        foreach (Match match in DispatchBucket().Matches(text))
        {
            var bound = match.Groups["le"].Value == "+Inf" ? double.PositiveInfinity : double.Parse(match.Groups["le"].Value, CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + (long)double.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture);
        }

        return buckets;
    }

    /// <summary>The upper bound, in ms, of the bucket that holds quantile <paramref name="q"/> of what was recorded between two readings; null if nothing was.</summary>
    private static double? Percentile(SortedDictionary<double, long> before, SortedDictionary<double, long> after, double q)
    {
        var total = after.GetValueOrDefault(double.PositiveInfinity) - before.GetValueOrDefault(double.PositiveInfinity);
        if (total <= 0)
        {
            return null;
        }

        foreach (var (bound, cumulative) in after)
        {
            if (cumulative - before.GetValueOrDefault(bound) >= q * total)
            {
                return double.IsPositiveInfinity(bound) ? double.PositiveInfinity : bound * 1000;
            }
        }

        return null;
    }

    private static void Log(string line) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} bench live: {line}");

    [GeneratedRegex("""^orchestrator_dispatch_latency_seconds_bucket\{[^}]*le="(?<le>[^"]+)"\} (?<count>\S+)""", RegexOptions.Multiline)]
    private static partial Regex DispatchBucket();

    private sealed record LiveSettings(
        IReadOnlyList<int> Levels, int Posts, int Burst, int BurstClients, TimeSpan Idle, int PreloadClients, bool? ServerGc, int WarmupPosts);

    private sealed record LevelFigures(int Live, double IdleCpuShare, double RssMb, Latencies Posts)
    {
        public object Json() => new
        {
            live_experiments = Live,
            idle_cpu_share = Math.Round(IdleCpuShare, 4),
            rss_bytes = (long)(RssMb * 1024 * 1024),
            post_p50_ms = Math.Round(Posts.Percentile(50), 2),
            post_p99_ms = Math.Round(Posts.Percentile(99), 2),
            post_p999_ms = Math.Round(Posts.Percentile(99.9), 2),
            post_max_ms = Math.Round(Posts.Percentile(100), 2),
        };
    }

    private sealed record BurstFigures(Submissions Result, TimeSpan Elapsed, int Runnable, double? DispatchP99Ms)
    {
        public int Created => Result.Created;

        public int ServerErrors => Result.ServerErrors;

        public int Unavailable => Result.Of(HttpStatusCode.ServiceUnavailable);

        /// <summary>Submissions that ended in neither 201 nor a replay of one: none should.</summary>
        public int Lost => Result.Failed;

        public double CreatedPerSecond => Created / Elapsed.TotalSeconds;

        public object Json() => new
        {
            created = Created,
            elapsed_s = Math.Round(Elapsed.TotalSeconds, 2),
            statuses = Result.Statuses(),
            runnable_submitted = Runnable,
            dispatch_p99_ms = DispatchP99Ms,
        };
    }

    /// <summary>Answers by status; a submission counts once as created (201) or as failed (anything but 201 or 503).</summary>
    private sealed class Submissions
    {
        private readonly ConcurrentDictionary<int, int> _statuses = new();

        public int Created => Of(HttpStatusCode.Created);

        public int ServerErrors => _statuses.Where(status => status.Key >= 500 && status.Key != 503).Sum(status => status.Value);

        public int Failed => _statuses.Where(status => status.Key is not (201 or 503)).Sum(status => status.Value);

        /// <summary>The body of the first answer that was neither 201 nor 503, to say why.</summary>
        public string? FirstError { get; private set; }

        public void Count(HttpStatusCode status, string body)
        {
            _statuses.AddOrUpdate((int)status, 1, (_, count) => count + 1);
            if (status is not (HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable) && FirstError is null)
            {
                FirstError = body;
            }
        }

        public int Of(HttpStatusCode status) => _statuses.GetValueOrDefault((int)status);

        public string Statuses() => string.Join(", ", _statuses.OrderBy(status => status.Key).Select(status => $"{status.Key}: {status.Value}"));
    }

    /// <summary>Latencies in ms, with nearest-rank percentiles.</summary>
    private sealed class Latencies
    {
        private readonly List<double> _values = [];

        public void Add(double milliseconds) => _values.Add(milliseconds);

        public double Percentile(double p)
        {
            if (_values.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _values.Order().ToList();
            var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
        }
    }
}
