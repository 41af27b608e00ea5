using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Specs;
using Orchestrator.Silo.Hosting;
using Orchestrator.Silo.Transport;
using Orleans.Configuration;

namespace Orchestrator.Bench;

/// <summary>
/// <c>bench --experiments N</c>: drives N concurrent experiments of the seven-stage BLIP DAG through the real
/// grains, with <see cref="InstantExecutor"/> standing in for workers, and prints one JSON line last:
/// stage transitions per second and dispatch latency (a run's last input available → handed to the dispatcher).
/// Through a broker it also prints what a user waits on between two stages, the whole path (a worker's completed report
/// consumed by the silo → the next stage's start confirmed by the broker) with its parts, and the broker leg alone (the
/// dispatcher's publish → the worker's handler), all timed in this one process (<see cref="BrokerPathRecorder"/>).
/// <c>bench alias-bomb</c> (<see cref="AliasBombBench"/>) measures what a hostile spec costs a running host instead.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The simulated workers run every kind of the catalog, as instant runs.</summary>
    internal static readonly List<string> AllKinds = [.. StageKindCatalog.All.Select(kind => kind.Name)];

    public static Command Create()
    {
        var experiments = new Option<int>("--experiments") { Description = "Concurrent experiments of the 7-stage DAG.", DefaultValueFactory = _ => 1000 };
        var workers = new Option<int>("--workers") { Description = "Simulated workers.", DefaultValueFactory = _ => 16 };
        var slots = new Option<int>("--slots") { Description = "Slots per simulated worker.", DefaultValueFactory = _ => 64 };
        var timeout = new Option<int>("--timeout-seconds") { Description = "Give up after this long.", DefaultValueFactory = _ => 600 };
        var creations = new Option<int>("--concurrent-creations")
        {
            Description = "Experiments the silo creates at once (Experiments:ConcurrentCreations).",
            DefaultValueFactory = _ => new ExperimentOptions().ConcurrentCreations,
        };
        var watch = new Option<bool>("--watch") { Description = "Have a reader watch every experiment, so every change is also published as a live event." };
        var transport = new Option<string>("--transport")
        {
            Description = "inmemory: the executor reports straight to the grains; rabbitmq: runs and reports cross a real broker.",
            DefaultValueFactory = _ => "inmemory",
        };
        transport.AcceptOnlyFromAmong("inmemory", "rabbitmq");
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "The broker for --transport rabbitmq, e.g. amqp://guest:guest@127.0.0.1:5672/." };
        var storage = new Option<string?>("--storage")
        {
            Description = "Durable mode: keep grain state, membership and reminders in this Azure Storage account (a connection string, e.g. Azurite's), " +
                "as a cluster does, and count its requests per stage transition and per progress and checkpoint report.",
        };
        var runSeconds = new Option<int?>("--run-seconds")
        {
            Description = "How long each simulated run lasts, reporting progress and checkpoints meanwhile as a real worker does; 0: instant runs. Default: 10 with --storage, 0 without.",
        };
        var progressSeconds = new Option<int>("--progress-seconds") { Description = "A lasting run's progress report interval.", DefaultValueFactory = _ => 2 };
        var checkpointSeconds = new Option<int>("--checkpoint-seconds") { Description = "A lasting run's checkpoint interval.", DefaultValueFactory = _ => 5 };
        var command = new Command("bench", "Measure orchestration throughput and dispatch latency with instant stage runs; through a broker, also the whole path from a report to the next start's confirm, and the broker leg.")
        {
            experiments,
            workers,
            slots,
            timeout,
            creations,
            watch,
            transport,
            rabbitMq,
            storage,
            runSeconds,
            progressSeconds,
            checkpointSeconds,
        };
        command.Subcommands.Add(AliasBombBench.Create());
        command.Subcommands.Add(LiveBench.Create());
        command.Subcommands.Add(RecoveryBench.Create());
        command.Validators.Add(result =>
        {
            if (result.GetValue(transport) == "rabbitmq" && !Uri.TryCreate(result.GetValue(rabbitMq), UriKind.Absolute, out _))
            {
                result.AddError("--transport rabbitmq needs --rabbitmq amqp://USER:PASS@HOST:PORT/");
            }

            if (result.GetValue(storage) is not null && result.GetValue(transport) == "rabbitmq")
            {
                result.AddError("--storage counts the requests each report causes, which it can follow only with --transport inmemory");
            }

            if (result.GetValue(runSeconds) is < 0)
            {
                result.AddError("--run-seconds must be 0 (instant runs) or more");
            }
        });
        foreach (var option in new[] { experiments, workers, slots, timeout, creations, progressSeconds, checkpointSeconds })
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
            new BenchSettings(
                parse.GetValue(experiments), parse.GetValue(workers), parse.GetValue(slots), TimeSpan.FromSeconds(parse.GetValue(timeout)),
                parse.GetValue(creations), parse.GetValue(watch),
                parse.GetValue(transport) == "rabbitmq" ? new Uri(parse.GetValue(rabbitMq)!) : null)
            {
                Storage = parse.GetValue(storage),
                Runs = (parse.GetValue(runSeconds) ?? (parse.GetValue(storage) is null ? 0 : 10)) is > 0 and var seconds
                    ? new RunShape(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(parse.GetValue(progressSeconds)), TimeSpan.FromSeconds(parse.GetValue(checkpointSeconds)))
                    : RunShape.Instant,
            },
            cancellationToken));
        return command;
    }

    /// <summary>With a broker, one simulated worker takes every run on its own queue.</summary>
    public const string RabbitWorkerId = "bench-rabbit";

    private static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var (experiments, workers, slots, _, _, _, rabbitMq) = settings;
        using var host = BuildHost(settings);
        await host.StartAsync(cancellationToken);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var executor = host.Services.GetRequiredService<InstantExecutor>();
        var scheduler = grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);
        if (rabbitMq is null)
        {
            for (var worker = 0; worker < workers; worker++)
            {
                await scheduler.HeartbeatAsync($"bench-{worker}", new WorkerCapacity { Slots = slots, Device = "cpu", StageKinds = AllKinds }, []);
            }
        }
        else
        {
            await scheduler.HeartbeatAsync(RabbitWorkerId, new WorkerCapacity { Slots = workers * slots, Device = "cpu", StageKinds = AllKinds }, []);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // One reporting loop per simulated worker: each reports its runs one after another, as a worker would.
        var reporting = executor.RunAsync(loops: workers, stop.Token);

        // A warm-up round first, so the figures are of jitted code, not of the JIT.
        var warmUp = Math.Clamp(experiments / 10, 1, 100);
        if (!await DriveAsync(grains, "warm", warmUp, warmUp, settings, cancellationToken))
        {
            return 1;
        }

        using var recorder = new LatencyRecorder();
        var paths = rabbitMq is null ? null : host.Services.GetRequiredService<BrokerPathRecorder>();
        paths?.Reset();
        executor.ResetMostOutstanding();
        using var pauses = new PauseMonitor();
        using var requests = new StorageRequestRecorder();
        var (progressBefore, checkpointsBefore) = (executor.ProgressReports, executor.CheckpointReports);
        var clock = Stopwatch.StartNew();
        if (!await DriveAsync(grains, "bench", experiments, warmUp + experiments, settings, cancellationToken))
        {
            return 1;
        }

        clock.Stop();
        var (progressReports, checkpointReports) = (executor.ProgressReports - progressBefore, executor.CheckpointReports - checkpointsBefore);
        var (longestPause, gcPause, collections) = (pauses.LongestGapMs, pauses.GcPauseMs, pauses.Collections);
        var (mostThreads, longestQueue) = (pauses.MostThreadPoolThreads, pauses.LongestThreadPoolQueue);
        await stop.CancelAsync();
        await reporting;
        await host.StopAsync(CancellationToken.None);

        var (wholePath, brokerLeg) = (paths?.WholePath, paths?.BrokerLeg);
        var transitionRequests = requests.Caused(StorageRequestRecorder.Create) + requests.Caused(StorageRequestRecorder.Started) + requests.Caused(StorageRequestRecorder.Completed);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            transport = rabbitMq is null ? "inmemory" : "rabbitmq",
            storage = settings.Storage is null ? "memory" : "azure",
            run_s = settings.Runs.Duration.TotalSeconds,
            progress_every_s = settings.Runs.ProgressEvery.TotalSeconds,
            checkpoint_every_s = settings.Runs.CheckpointEvery.TotalSeconds,
            progress_reports = progressReports,
            checkpoint_reports = checkpointReports,
            experiments,
            concurrent_creations = settings.ConcurrentCreations,
            watched = settings.Watch,
            stages = experiments * BenchDag.Stages,
            transitions = recorder.Transitions,
            elapsed_s = Math.Round(clock.Elapsed.TotalSeconds, 3),
            transitions_per_s = Math.Round(recorder.Transitions / clock.Elapsed.TotalSeconds, 1),
            dispatches = recorder.DispatchCount,
            dispatch_p50_ms = Math.Round(recorder.DispatchPercentileMs(50), 3),
            dispatch_p99_ms = Math.Round(recorder.DispatchPercentileMs(99), 3),
            dispatch_max_ms = Math.Round(recorder.DispatchPercentileMs(100), 3),
            whole_paths = wholePath?.Count,
            whole_path_p50_ms = Ms(wholePath?.P50Ms),
            whole_path_p99_ms = Ms(wholePath?.P99Ms),
            whole_path_max_ms = Ms(wholePath?.MaxMs),
            report_to_handoff_p50_ms = Ms(paths?.ReportToHandOff.P50Ms),
            report_to_handoff_p99_ms = Ms(paths?.ReportToHandOff.P99Ms),
            outbox_wait_p50_ms = Ms(paths?.Outbox.P50Ms),
            outbox_wait_p99_ms = Ms(paths?.Outbox.P99Ms),
            confirm_p50_ms = Ms(paths?.Confirm.P50Ms),
            confirm_p99_ms = Ms(paths?.Confirm.P99Ms),
            broker_legs = brokerLeg?.Count,
            broker_leg_p50_ms = Ms(brokerLeg?.P50Ms),
            broker_leg_p99_ms = Ms(brokerLeg?.P99Ms),
            broker_leg_max_ms = Ms(brokerLeg?.MaxMs),
            gc = GCSettings.IsServerGC ? "server" : "workstation",
            gc_concurrent = GCSettings.LatencyMode != GCLatencyMode.Batch,
            longest_process_pause_ms = Math.Round(longestPause, 1),
            gc_pause_ms = Math.Round(gcPause, 1),
            gc_collections = collections,
            slots = workers * slots,
            runs_outstanding_max = executor.MostOutstanding,
            threadpool_threads_max = mostThreads,
            threadpool_queue_max = longestQueue,
            storage_requests = settings.Storage is null ? (long?)null : requests.Total,
            storage_errors = settings.Storage is null ? (long?)null : requests.Errors,
            storage_requests_per_transition = PerUnit(settings, transitionRequests, recorder.Transitions),
            storage_requests_per_progress_report = PerUnit(settings, requests.Caused(StorageRequestRecorder.Progress), progressReports),
            storage_requests_per_checkpoint_report = PerUnit(settings, requests.Caused(StorageRequestRecorder.Checkpoint), checkpointReports),
            storage_requests_by_cause = settings.Storage is null ? null : requests.ByCause(),
            storage_requests_by_state = settings.Storage is null ? null : requests.ByState(),
        }));
        return 0;
    }

    /// <summary>Submits <paramref name="count"/> experiments at once and waits until <paramref name="succeededInAll"/> have succeeded.</summary>
    private static async Task<bool> DriveAsync(
        IGrainFactory grains, string prefix, int count, int succeededInAll, BenchSettings settings, CancellationToken cancellationToken)
    {
        // Validation is the API's cost, not the cluster's: drafts are prepared before the submissions.
        var drafts = Enumerable.Range(0, count)
            .Select(number => $"exp-{prefix}{number.ToString(CultureInfo.InvariantCulture).PadLeft(20 - prefix.Length, '0')}")
            .Select(id => (Id: id, Draft: ExperimentDrafts.Prepare(BenchDag.Yaml, SpecFormat.Yaml, id).Draft!))
            .ToList();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(drafts, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken },
            async (draft, _) =>
            {
                var experiment = grains.GetGrain<IExperimentGrain>(draft.Id);
                if (settings.Watch)
                {
                    await experiment.WatchAsync(ExperimentGrain.MaxWatchLease);
                }

                StorageRequestRecorder.Mark(StorageRequestRecorder.Create);

                // A full line of creations answers Busy with its wait, as the API's 503 does: retry after it, as a client would.
                while ((await experiment.CreateAsync(draft.Draft)) is { Outcome: CreateOutcome.Busy } busy)
                {
                    await Task.Delay(busy.RetryAfter, cancellationToken);
                }
            });
        while (true)
        {
            var succeeded = (await ExperimentIndex.CountByStatusAsync(grains)).GetValueOrDefault(ExperimentStatus.Succeeded);
            if (succeeded >= succeededInAll)
            {
                return true;
            }

            if (clock.Elapsed > settings.Timeout)
            {
                await Console.Error.WriteLineAsync($"bench: only {succeeded} of {succeededInAll} experiments succeeded in {settings.Timeout.TotalSeconds} s");
                return false;
            }

            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>Milliseconds to three decimals; null without a broker, or with nothing measured.</summary>
    private static double? Ms(double? milliseconds) => milliseconds is { } ms && !double.IsNaN(ms) ? Math.Round(ms, 3) : null;

    /// <summary>Requests per unit in durable mode, two decimals; null in memory or when nothing happened.</summary>
    private static double? PerUnit(BenchSettings settings, long requests, long units) =>
        settings.Storage is null || units == 0 ? null : Math.Round((double)requests / units, 2);

    private static IHost BuildHost(BenchSettings settings)
    {
        var rabbitMq = settings.RabbitMq;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddKeyedSingleton(OrchestratorClock.Key, TimeProvider.System);
        builder.Services.AddSingleton(Options.Create(new ExperimentOptions { ConcurrentCreations = settings.ConcurrentCreations }));
        builder.Services.AddSingleton<CreationGate>();
        builder.Services.AddSingleton(settings);
        if (rabbitMq is not null)
        {
            // Durable queues, persistent messages and publisher confirms, as in production.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Transport:Kind"] = "RabbitMq",
                ["Transport:RabbitMq"] = rabbitMq.ToString(),
            });
            builder.Services.AddOrchestratorTransport(builder.Configuration, bus => bus.AddConsumer<InstantRunConsumer>(typeof(InstantRunConsumerDefinition)));

            // The whole path and the broker leg, timed at both ends in this process (BrokerPathRecorder).
            builder.Services.AddSingleton<BrokerPathRecorder>();
            builder.Services.AddSendObserver(services => services.GetRequiredService<BrokerPathRecorder>());
            builder.Services.AddConsumeObserver(services => services.GetRequiredService<BrokerPathRecorder>());
            var dispatcher = builder.Services.Last(service => service.ServiceType == typeof(IStageRunDispatcher)).ImplementationFactory!;
            builder.Services.AddSingleton<IStageRunDispatcher>(services =>
                new HandOffTimingDispatcher((IStageRunDispatcher)dispatcher(services), services.GetRequiredService<BrokerPathRecorder>()));
        }


        // Simulated workers beat once; they must not be declared lost while the benchmark runs.
        builder.Services.AddSingleton(Options.Create(new SchedulerOptions { HeartbeatTimeout = TimeSpan.FromHours(1) }));
        builder.Services.AddSingleton<InstantExecutor>();
        if (rabbitMq is null)
        {
            builder.Services.AddSingleton<IInstantReports, GrainInstantReports>();
            builder.Services.AddSingleton<IStageRunDispatcher>(services => services.GetRequiredService<InstantExecutor>());
            builder.Services.AddSingleton<ITransportHealth>(services => services.GetRequiredService<InstantExecutor>());
        }
        else
        {
            builder.Services.AddSingleton<IInstantReports, BusInstantReports>();
        }

        var options = new OrchestratorOptions();
        builder.UseOrleans(silo =>
        {
            silo.CollectIdleExperiments();
            if (settings.Storage is { } storage)
            {
                // As a cluster silo keeps it: membership and reminders in tables, every grain state in blobs, in a service of
                // its own so that runs never share state.
                var service = $"bench-{Guid.NewGuid():N}"[..14];
                silo.Configure<ClusterOptions>(cluster =>
                {
                    cluster.ClusterId = service;
                    cluster.ServiceId = service;
                });
                silo.ConfigureEndpoints(IPAddress.Loopback, options.SiloPort + 7, options.GatewayPort + 7, listenOnAnyHostAddress: false);
                silo.UseClusterStorage(options with { Mode = OrchestratorMode.Cluster, ClusterId = service, ServiceId = service, Storage = new ClusterStorageOptions { ConnectionString = storage } });
                silo.AddExperimentEventStreams();
            }
            else
            {
                silo.UseLocalhostClustering(options.SiloPort + 7, options.GatewayPort + 7);
                silo.AddOrchestratorMemoryStorage();
                silo.AddExperimentEventStreams().AddMemoryGrainStorage(ExperimentEventStreams.PubSubStore);
                silo.UseInMemoryReminderService();
            }
        });
        return builder.Build();
    }
}

/// <summary>What one benchmark run drives, and how.</summary>
internal sealed record BenchSettings(
    int Experiments, int Workers, int Slots, TimeSpan Timeout, int ConcurrentCreations, bool Watch, Uri? RabbitMq)
{
    /// <summary>The Azure Storage connection string of durable mode, or null for in-process memory storage.</summary>
    public string? Storage { get; init; }

    public RunShape Runs { get; init; } = RunShape.Instant;
}
