using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Orchestrator.Hosting.Transport;

namespace Trainer.Worker.Tests.Agent;

/// <summary>The worker on a real RabbitMQ broker, through the same transport setup the processes use.</summary>
public sealed class WorkerRabbitMqTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [ServerFact(TestServers.RabbitMq, TestServers.RabbitMqCtl)]
    public async Task Runs_sent_to_the_worker_queue_are_run_and_only_cancels_are_bound_to_it_from_published_types()
    {
        var workerId = $"rmq-{Guid.NewGuid():N}"[..16];
        var queue = QueueNames.Worker(workerId);
        var root = Directory.CreateTempSubdirectory("worker-rabbitmq-");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Kind"] = "RabbitMq",
            ["Transport:RabbitMq"] = TestServers.Get(TestServers.RabbitMq),
            ["Worker:WorkerId"] = workerId,
            ["Worker:Device"] = "cpu",
            ["Worker:WorkDirectory"] = Path.Combine(root.FullName, "work"),
        });
        builder.Services.AddTrainingTransport(builder.Configuration, bus =>
        {
            bus.AddWorkerConsumers();
            bus.AddConsumer<ReportRecorder>().Endpoint(endpoint =>
            {
                endpoint.Name = $"recorder-{workerId}";
                endpoint.Temporary = true;
            });
        });
        builder.Services.AddTrainerWorker(builder.Configuration);
        builder.Services.AddSingleton<IArtifactStore>(new TempFolderArtifactStore(Path.Combine(root.FullName, "store"), TimeProvider.System));
        builder.Services.AddSingleton<RunnerScript>();
        builder.Services.UseScriptedRunner();
        var recorded = new Recorded(workerId);
        builder.Services.AddSingleton(recorded);

        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);
        try
        {
            await recorded.Registered.Task.WaitAsync(Timeout);
            var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
            await endpoint.Send(WorkerHarness.Run("run-1"));
            var completed = await recorded.Completed.Task.WaitAsync(Timeout);
            Assert.Equal("run-1", completed.RunId);

            var bindings = await BindingsToAsync(queue);
            Assert.Contains("Orchestrator.Contracts.Messages:CancelStageRun", bindings);
            Assert.DoesNotContain("Orchestrator.Contracts.Messages:StartStageRun", bindings);
        }
        finally
        {
            await host.StopAsync().WaitAsync(Timeout);
            root.Delete(recursive: true);
        }
    }

    /// <summary>The exchanges bound to the worker queue's exchange, as the broker reports them.</summary>
    private static async Task<IReadOnlyList<string>> BindingsToAsync(string destination)
    {
        var start = new ProcessStartInfo(TestServers.Get(TestServers.RabbitMqCtl))
        {
            ArgumentList = { "list_bindings", "--silent", "source_name", "destination_name" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        Assert.True(process.ExitCode == 0, $"rabbitmqctl list_bindings failed: {errors}");
        return
        [
            .. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .Where(columns => columns.Length == 2 && columns[1] == destination)
                .Select(columns => columns[0]),
        ];
    }
}
