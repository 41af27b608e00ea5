using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Specs;
using Orchestrator.Silo.Hosting;
using Orleans.Core.Internal;

namespace Orchestrator.Bench;

/// <summary>
/// <c>bench recover</c>: a scheduler that lost its memory with N live experiments (issue 29, item 5). Every experiment's
/// first stage waits for a CUDA worker, which no worker offers until the scheduler has been deactivated; then CUDA
/// workers beat, and the bench times the first run placed and the moment every queued run is known again, and counts
/// runs placed twice. Every experiment's activations are collected first, so each catch-up reads its grains back from
/// storage, as after a silo's restart. In process: the silo, memory storage, and a dispatcher that only records.
/// </summary>
internal static class RecoveryBench
{
    public static Command Create()
    {
        var experiments = new Option<int>("--experiments") { Description = "Live experiments when the scheduler loses its memory.", DefaultValueFactory = _ => 10_000 };
        var workers = new Option<int>("--workers") { Description = "CUDA workers that beat after the scheduler's deactivation.", DefaultValueFactory = _ => 4 };
        var slots = new Option<int>("--slots") { Description = "Slots per worker.", DefaultValueFactory = _ => 8 };
        var creations = new Option<int>("--concurrent-creations") { Description = "Experiments the silo creates at once while the backlog is loaded.", DefaultValueFactory = _ => 8 };
        var timeout = new Option<int>("--timeout-seconds") { Description = "Give up after this long.", DefaultValueFactory = _ => 1800 };
        var command = new Command("recover", "Time a scheduler's recovery with N live experiments: first placement, every run announced again, none placed twice.")
        {
            experiments, workers, slots, creations, timeout,
        };
        foreach (var option in new[] { experiments, workers, slots, creations, timeout })
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 1)
                {
                    result.AddError($"{option.Name} must be at least 1, got {result.GetValueOrDefault<int>()}.");
                }
            });
        }

        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(experiments), parse.GetValue(workers), parse.GetValue(slots), parse.GetValue(creations),
            TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int experiments, int workers, int slots, int creations, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var dispatcher = new FirstStartDispatcher();
        using var host = BuildHost(dispatcher, creations);
        await host.StartAsync(cancellationToken);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var scheduler = grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);
        var deadline = Stopwatch.StartNew();

        var loading = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, experiments), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken },
            async (number, token) =>
            {
                var id = $"exp-{number.ToString(CultureInfo.InvariantCulture).PadLeft(12, '0')}";
                var experiment = grains.GetGrain<IExperimentGrain>(id);
                var draft = ExperimentDrafts.Prepare(LiveBench.WaitingDag, SpecFormat.Yaml, id).Draft!;
                while ((await experiment.CreateAsync(draft)) is { Outcome: CreateOutcome.Busy } busy)
                {
                    await Task.Delay(busy.RetryAfter, token);
                }
            });
        if (!await WaitAsync(async () => (await scheduler.GetSnapshotAsync()).QueueDepth >= experiments, deadline, timeout, cancellationToken))
        {
            await Console.Error.WriteLineAsync($"bench recover: the {experiments} runs were not all queued in {timeout.TotalSeconds} s");
            return 1;
        }

        // As after a silo's restart, none of them is in memory: each catch-up reads the experiment and its stages back.
        await grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, cancellationToken);
        Log($"{experiments} live experiments, each with a run queued, loaded in {loading.Elapsed.TotalSeconds:0.0} s and collected; deactivating the scheduler");
        await scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle(cancellationToken);
        var clock = Stopwatch.StartNew();
        dispatcher.Clock = clock;
        for (var worker = 0; worker < workers; worker++)
        {
            await scheduler.HeartbeatAsync($"bench-cuda-{worker}", new WorkerCapacity { Slots = slots, Device = "cuda", StageKinds = BenchCommand.AllKinds }, []);
        }

        var announced = TimeSpan.Zero;
        if (!await WaitAsync(async () =>
            {
                var snapshot = await scheduler.GetSnapshotAsync();
                announced = clock.Elapsed;
                return snapshot.QueueDepth + snapshot.RunningRuns >= experiments;
            }, deadline, timeout, cancellationToken))
        {
            await Console.Error.WriteLineAsync($"bench recover: not every run was announced again in {timeout.TotalSeconds} s");
            return 1;
        }

        var placed = Math.Min(experiments, workers * slots);
        await WaitAsync(() => Task.FromResult(dispatcher.Started >= placed), deadline, timeout, cancellationToken);
        var memory = Process.GetCurrentProcess();
        memory.Refresh();
        await host.StopAsync(CancellationToken.None);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "recover",
            live_experiments = experiments,
            workers,
            slots,
            load_s = Math.Round(loading.Elapsed.TotalSeconds, 1),
            first_assignment_s = dispatcher.FirstStartAt is { } first ? Math.Round(first.TotalSeconds, 3) : (double?)null,
            all_announced_s = Math.Round(announced.TotalSeconds, 3),
            runs_placed = dispatcher.Started,
            runs_placed_twice = dispatcher.PlacedTwice,
            peak_rss_bytes = memory.PeakWorkingSet64,
        }));
        return dispatcher.PlacedTwice > 0 ? 1 : 0;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, Stopwatch clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(10, cancellationToken);
        }

        return true;
    }

    private static IHost BuildHost(FirstStartDispatcher dispatcher, int creations)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddKeyedSingleton(OrchestratorClock.Key, TimeProvider.System);
        builder.Services.AddSingleton(Options.Create(new ExperimentOptions { ConcurrentCreations = creations }));
        builder.Services.AddSingleton<CreationGate>();

        // Recovery ends when every experiment has answered, not at the heartbeat timeout: the bench times the answers.
        builder.Services.AddSingleton(Options.Create(new SchedulerOptions { HeartbeatTimeout = TimeSpan.FromHours(1) }));
        builder.Services.AddSingleton<IStageRunDispatcher>(dispatcher);
        builder.Services.AddSingleton<ITransportHealth>(dispatcher);
        var ports = new OrchestratorOptions();
        builder.UseOrleans(silo =>
        {
            silo.CollectIdleExperiments();
            silo.UseLocalhostClustering(ports.SiloPort + 9, ports.GatewayPort + 9);
            silo.AddOrchestratorMemoryStorage();
            silo.AddExperimentEventStreams().AddMemoryGrainStorage(ExperimentEventStreams.PubSubStore);
            silo.UseInMemoryReminderService();
        });
        return builder.Build();
    }

    private static void Log(string line) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} bench recover: {line}");

    /// <summary>Records when the first run was handed to workers after the clock started, and every run handed over twice.</summary>
    private sealed class FirstStartDispatcher : IStageRunDispatcher, ITransportHealth
    {
        private readonly ConcurrentDictionary<string, int> _starts = new(StringComparer.Ordinal);

        public Stopwatch? Clock { get; set; }

        public TimeSpan? FirstStartAt { get; private set; }

        public int Started => _starts.Count;

        public int PlacedTwice => _starts.Values.Count(count => count > 1);

        public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
        {
            FirstStartAt ??= Clock?.Elapsed;
            _starts.AddOrUpdate(assignment.Run.RunId, 1, (_, count) => count + 1);
            return Task.CompletedTask;
        }

        public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public TransportStatus Check() => new(true, "the benchmark's simulated workers, in process");
    }
}
