using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;
using Trainer.Worker.Observability;

namespace Trainer.Worker.Tests.Agent;

/// <summary>
/// One worker on the MassTransit test harness's in-memory bus, with fake time, a temp-folder artifact store and
/// <see cref="CheckpointingRunner"/>. Waits use the harness (its timeout bounds every wait); nothing sleeps.
/// </summary>
internal sealed class WorkerHarness : IAsyncDisposable
{
    public const string WorkerId = "w1";
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan ProgressTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Bounds every wait; generous because other builds share this machine's two cores.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ServiceProvider _provider;
    private readonly string _root;

    private WorkerHarness(ServiceProvider provider, string root, RunnerScript script, FakeTimeProvider time, LogCapture logs)
    {
        _provider = provider;
        _root = root;
        Script = script;
        Time = time;
        Logs = logs;
        Bus = provider.GetRequiredService<ITestHarness>();
        Agent = provider.GetRequiredService<WorkerAgent>();
        Store = (TempFolderArtifactStore)provider.GetRequiredService<IArtifactStore>();
    }

    public ITestHarness Bus { get; }

    public WorkerAgent Agent { get; }

    public RunnerScript Script { get; }

    public FakeTimeProvider Time { get; }

    public TempFolderArtifactStore Store { get; }

    public LogCapture Logs { get; }

    public WorkerMetrics Metrics => _provider.GetRequiredService<WorkerMetrics>();

    public string WorkDirectory => Path.Combine(_root, "work");

    public static async Task<WorkerHarness> StartAsync(int slots = 1, bool withRunner = true)
    {
        var root = Path.Combine(Path.GetTempPath(), "trainer-worker-tests", Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:WorkerId"] = WorkerId,
            ["Worker:Slots"] = $"{slots}",
            ["Worker:Device"] = "cpu",
            ["Worker:DeviceName"] = "test cpu",
            ["Worker:MemoryGib"] = "4",
            ["Worker:Labels:zone"] = "test",
            ["Worker:HeartbeatInterval"] = $"{HeartbeatInterval}",
            ["Worker:DrainTimeout"] = $"{DrainTimeout}",
            ["Worker:ProgressTimeout"] = $"{ProgressTimeout}",
            ["Worker:ProgressInterval"] = "00:00:00",
            ["Worker:WorkDirectory"] = Path.Combine(root, "work"),
        }).Build();

        var time = new FakeTimeProvider();
        var script = new RunnerScript();
        var logs = new LogCapture();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(logs));
        services.AddSingleton<TimeProvider>(time);
        services.AddMassTransitTestHarness(TextWriter.Null, bus =>
        {
            bus.AddWorkerConsumers();
            bus.SetTestTimeouts(testTimeout: Timeout, testInactivityTimeout: Timeout);
        });
        services.AddTrainerWorker(configuration);
        services.AddSingleton<IArtifactStore>(new TempFolderArtifactStore(Path.Combine(root, "store"), time));
        services.AddSingleton(script);
        services.UseScriptedRunner(withRunner);

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
        var harness = new WorkerHarness(provider, root, script, time, logs);
        await harness.Bus.Start();
        return harness;
    }

    /// <summary>A run of <c>dataset.synthetic</c> with default options, as the scheduler sends it.</summary>
    public static StartStageRun Run(string runId, string kind = "dataset.synthetic", string optionsJson = "{}", ArtifactReference? resumeFrom = null) => new()
    {
        RunId = runId,
        Attempt = 1,
        ExperimentId = "exp-1",
        StageId = "data",
        Kind = kind,
        OptionsJson = optionsJson,
        Inputs = new Dictionary<string, IReadOnlyList<ArtifactReference>>(),
        ResumeFrom = resumeFrom,
        WorldSize = 1,
        Rank = 0,
        Rendezvous = new GangRendezvous { WorkerIds = [WorkerId], Group = runId },
    };

    public static CancelStageRun Cancel(string runId, string reason) => new()
    {
        RunId = runId,
        ExperimentId = "exp-1",
        StageId = "data",
        Reason = reason,
    };

    /// <summary>Sends to the worker's own queue, as the scheduler does.</summary>
    public async Task SendAsync<T>(T message)
        where T : class
    {
        var endpoint = await Bus.Bus.GetSendEndpoint(new Uri($"queue:{QueueNames.Worker(WorkerId)}"));
        await endpoint.Send(message);
    }

    /// <summary>The first published <typeparamref name="T"/> that matches, waiting for it up to the harness timeout.</summary>
    public async Task<T> PublishedAsync<T>(Func<T, bool>? match = null)
        where T : class
    {
        var found = await Bus.Published.Any<T>(message => match?.Invoke(message.Context.Message) ?? true);
        Assert.True(found, $"no matching {typeof(T).Name} was published within {Timeout}");
        return PublishedSoFar(match)[0];
    }

    /// <summary>Every matching <typeparamref name="T"/> published so far, in order, without waiting.</summary>
    public IReadOnlyList<T> PublishedSoFar<T>(Func<T, bool>? match = null)
        where T : class =>
        [.. Bus.Published.Select<T>(message => match?.Invoke(message.Context.Message) ?? true, new CancellationToken(canceled: true))
            .Select(message => message.Context.Message)];

    /// <summary>Every message published so far, in order, without waiting.</summary>
    public IReadOnlyList<object> PublishedSoFar() =>
        [.. Bus.Published.Select(_ => true, new CancellationToken(canceled: true)).Select(message => message.MessageObject)];

    /// <summary>Waits until the worker has consumed <paramref name="count"/> messages of type <typeparamref name="T"/> for the run.</summary>
    public async Task ConsumedAsync<T>(string runId, int count = 1)
        where T : class, IStageRunMessage
    {
        var seen = 0;
        await foreach (var consumed in Bus.Consumed.SelectAsync<T>(message => message.Context.Message.RunId == runId))
        {
            Assert.Null(consumed.Exception);
            if (++seen == count)
            {
                return;
            }
        }

        Assert.Fail($"{typeof(T).Name} for {runId} was consumed {seen} times within {Timeout}, not {count}");
    }

    /// <summary>The <paramref name="number"/>th heartbeat (1-based), waiting for it.</summary>
    public async Task<RecordWorkerHeartbeat> HeartbeatAsync(int number)
    {
        var seen = 0;
        await foreach (var heartbeat in Bus.Published.SelectAsync<RecordWorkerHeartbeat>())
        {
            if (++seen == number)
            {
                return heartbeat.Context.Message;
            }
        }

        Assert.Fail($"{seen} heartbeats were published within {Timeout}, not {number}");
        return null!;
    }

    public Task WaitAsync(Task task) => task.WaitAsync(Timeout);

    /// <summary>Waits until the run's final report is out and the run has left the active list.</summary>
    public Task RunEndedAsync(string runId) => WaitAsync(Agent.WhenRunEnded(runId));

    public async ValueTask DisposeAsync()
    {
        // Drain while the bus is still up; the harness would otherwise stop the worker and the bus at once.
        await Agent.StopAsync(CancellationToken.None).WaitAsync(Timeout);
        await _provider.DisposeAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
