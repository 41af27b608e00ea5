using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// One in-process test cluster for every lifecycle test: memory storage (whose writes a test can make fail:
/// <see cref="Storage"/>) and reminders, a fake clock for
/// the grains' lifecycle time, a recording dispatcher in place of the transport, a count of the calls each grain
/// receives, and calls a test has lost on purpose (<see cref="Drops"/>). Tests keep out of
/// each other's way by giving their workers and stages a label of their own.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    public static readonly RecordingDispatcher Dispatcher = new();
    public static readonly SwitchableTransportHealth Transport = new();
    public static readonly GrainCallCounter Calls = new();
    public static readonly StorageFaults Storage = new();
    public static readonly CallDrops Drops = new();
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(30);

    public const int CatchUpsInFlight = 4;
    public static readonly TimeSpan ReconnectGrace = TimeSpan.FromSeconds(45);

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>The names of the reminders <paramref name="grain"/> holds, as the cluster's reminder table has them.</summary>
    public async Task<List<string>> RemindersOf(GrainId grain)
    {
        var table = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IReminderTable>();
        return [.. (await table.ReadRows(grain)).Reminders.Select(reminder => reminder.ReminderName)];
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.Services.AddGrainStorage(OrchestratorStorage.Name, (services, _) => Storage.Wrap(ActivatorUtilities.CreateInstance<InProcessGrainStorage>(services)));
            silo.AddExperimentEventStreams().AddMemoryGrainStorage(ExperimentEventStreams.PubSubStore);
            silo.UseInMemoryReminderService();
            silo.CollectIdleExperiments();
            silo.AddIncomingGrainCallFilter(Calls.CountAsync);
            silo.AddIncomingGrainCallFilter(Drops.FilterAsync);
            silo.Services.AddKeyedSingleton<TimeProvider>(OrchestratorClock.Key, Time);
            silo.Services.AddSingleton<CreationGate>();
            silo.Services.AddSingleton<IStageRunDispatcher>(Dispatcher);
            silo.Services.AddSingleton<ITransportHealth>(Transport);

            // The check timer never fires during a test: tests call CheckWorkersAsync after moving the fake clock. The
            // catch-up window is smaller than the experiments the tests leave running, so every reactivation goes through it.
            silo.Services.AddSingleton(Options.Create(new SchedulerOptions
            {
                HeartbeatTimeout = HeartbeatTimeout,
                ReconnectGrace = ReconnectGrace,
                CheckInterval = TimeSpan.FromMinutes(10),
                CatchUpsInFlight = CatchUpsInFlight,
            }));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
