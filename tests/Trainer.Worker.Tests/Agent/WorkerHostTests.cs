using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Orchestrator.Hosting.Transport;

namespace Trainer.Worker.Tests.Agent;

/// <summary>The worker wired as a process wires it: a generic host, the shared transport setup, other consumers beside it.</summary>
public sealed class WorkerHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task In_a_host_the_worker_shares_the_bus_with_other_consumers_and_drains_before_the_bus_stops()
    {
        var root = Directory.CreateTempSubdirectory("worker-host-");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Kind"] = "InMemory",
            ["Worker:WorkerId"] = "host-worker",
            ["Worker:Device"] = "cpu",
            ["Worker:DrainTimeout"] = "00:01:00",
            ["Worker:StopTimeout"] = "00:01:10",
            ["Worker:ProgressInterval"] = "00:00:00",
            ["Worker:WorkDirectory"] = Path.Combine(root.FullName, "work"),
        });

        // The worker is registered before the bus on purpose: the host stops services in reverse order, so only
        // draining in StoppingAsync gets the last reports out before the bus stops.
        builder.Services.AddTrainerWorker(builder.Configuration);
        builder.Services.AddTrainingTransport(builder.Configuration, bus =>
        {
            bus.AddWorkerConsumers();
            bus.AddConsumer<ReportRecorder>();
        });
        builder.Services.AddSingleton<IArtifactStore>(new TempFolderArtifactStore(Path.Combine(root.FullName, "store"), TimeProvider.System));
        builder.Services.AddSingleton<RunnerScript>();
        builder.Services.UseScriptedRunner();
        builder.Services.AddSingleton(new Recorded("host-worker"));
        var events = new BusEvents();
        builder.Services.AddBusObserver(_ => events);

        using var host = builder.Build();
        Assert.Equal(TimeSpan.FromSeconds(70), host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        var recorded = host.Services.GetRequiredService<Recorded>();
        await host.StartAsync().WaitAsync(Timeout);

        Assert.Equal("host-worker", (await recorded.Registered.Task.WaitAsync(Timeout)).WorkerId);
        var queue = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{QueueNames.Worker("host-worker")}"));
        await queue.Send(WorkerHarness.Run("run-1"));
        var completed = await recorded.Completed.Task.WaitAsync(Timeout);
        Assert.Equal(("run-1", "dataset"), (completed.RunId, completed.Outputs["web"].Type));

        await host.StopAsync().WaitAsync(Timeout);

        Assert.Equal(["published DeregisterWorker host-worker", "bus stopping"], events.Log);
        root.Delete(recursive: true);
    }

    /// <summary>The bus's stop and the worker's deregistration, in the order they happened.</summary>
    private sealed class BusEvents : IBusObserver, IPublishObserver
    {
        private readonly ConcurrentQueue<string> _log = new();

        public IReadOnlyList<string> Log => [.. _log];

        public void PostCreate(IBus bus) => bus.ConnectPublishObserver(this);

        public void CreateFaulted(Exception exception)
        {
        }

        public Task PreStart(IBus bus) => Task.CompletedTask;

        public Task PostStart(IBus bus, Task<BusReady> busReady) => Task.CompletedTask;

        public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

        public Task PreStop(IBus bus)
        {
            _log.Enqueue("bus stopping");
            return Task.CompletedTask;
        }

        public Task PostStop(IBus bus) => Task.CompletedTask;

        public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;

        public Task PrePublish<T>(PublishContext<T> context)
            where T : class => Task.CompletedTask;

        public Task PostPublish<T>(PublishContext<T> context)
            where T : class
        {
            if (context.Message is DeregisterWorker deregister)
            {
                _log.Enqueue($"published DeregisterWorker {deregister.WorkerId}");
            }

            return Task.CompletedTask;
        }

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
