using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Tests.Api;

/// <summary>
/// Which stage kinds can run is a fact of the registered workers: the catalog says which kinds some worker runs, and a
/// silo without a worker of its own accepts any kind (its stage waits queued for a worker that runs it). The standalone
/// host's side is in Orchestrator.Standalone.Tests.
/// </summary>
public sealed class StageKindAvailabilityTests
{
    [Fact]
    public async Task The_catalog_shows_a_kind_runnable_once_a_registered_worker_runs_it()
    {
        using var factory = new OrchestratorFactory();
        var client = factory.CreateClient();
        Assert.False(await RunnableAsync(client, "blip.capfilt"));

        await factory.Services.GetRequiredService<IGrainFactory>().GetGrain<ISchedulerGrain>(SchedulerGrain.Key)
            .HeartbeatAsync("capfilt-worker", new WorkerCapacity { Slots = 1, Device = "cpu", StageKinds = ["blip.capfilt"] }, []);

        Assert.True(await RunnableAsync(client, "blip.capfilt"));
        Assert.False(await RunnableAsync(client, "blip.pretrain"));
    }

    [Fact]
    public async Task A_silo_without_a_worker_of_its_own_accepts_a_kind_no_worker_runs_yet()
    {
        using var factory = new OrchestratorFactory();
        var client = factory.CreateClient();

        var response = await client.PostAsync("/api/v1/experiments", Yaml("name: waits\nstages:\n  - { id: d, kind: dataset.synthetic }\n"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("Queued", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["stages"]![0]!["status"]!.GetValue<string>());
    }

    private static async Task<bool> RunnableAsync(HttpClient client, string kind) =>
        JsonNode.Parse(await client.GetStringAsync("/api/v1/stage-kinds"))!.AsArray()
            .Single(view => view!["name"]!.GetValue<string>() == kind)!["runnable"]!.GetValue<bool>();

    private static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");
}
