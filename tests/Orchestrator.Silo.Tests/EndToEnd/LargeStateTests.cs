using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Grains;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Specs;
using Orchestrator.Silo.Hosting;
using Orleans.Configuration;
using Orleans.Storage;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// The largest states a cluster keeps fit its storage, survive a silo SIGKILL and reload whole in a new silo on the same
/// storage: the largest experiment the API accepts (500 stages, the spec just under 1 MiB), a stage rerun 100 times (101
/// attempts in its history), and an experiment index of 100,000 summaries, written in the index's first layout (one state)
/// and moved by the silo into its partitions (docs/decisions/experiment-index.md). All are blobs (docs/decisions.md): a
/// table entity would hold at most 15 × 64 KiB.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LargeStateTests(ITestOutputHelper output)
{
    private const int IndexedExperiments = 100_000;
    private const int Reruns = 100;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task The_largest_experiment_a_stage_after_100_reruns_and_an_index_of_100000_summaries_survive_a_silo_sigkill()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);

        // Submitting 100,000 experiments would take an hour here: the index's state is written through the cluster's own
        // provider instead, as the first layout's index grain wrote it, by a silo of the same service that then leaves; the
        // silo started next moves it into partitions before it reports ready.
        await WriteIndexAsync(e2e, IndexedExperiments);

        // No worker: every stage stays queued, so nothing changes between the kill and the reload.
        var ports = SiloPorts.Free();
        var (first, api) = await e2e.StartSiloAsync("silo-1", ports, TimeSpan.FromSeconds(30));
        Assert.Equal(IndexedExperiments, (await ListAsync(api, 1)).Total);

        var spec = LargestSpec();
        var clock = Stopwatch.StartNew();
        var largest = await api.SubmitAsync(spec);
        e2e.Log($"the largest experiment ({Encoding.UTF8.GetByteCount(spec)} bytes, {SpecValidator.MaxStages} stages) created in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(SpecValidator.MaxStages, (await api.GetAsync(largest)).Stages.Count);

        var rerun = await api.SubmitAsync(Dags.DataThenPretrain(5));
        clock.Restart();
        for (var number = 0; number < Reruns; number++)
        {
            using var response = await api.Http.PostAsync($"/api/v1/experiments/{rerun}/stages/data/rerun", null);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"rerun {number + 1} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        e2e.Log($"{Reruns} reruns in {clock.Elapsed.TotalSeconds:0.0} s");
        var before = await ViewsAsync(api, largest, rerun);
        Assert.Equal(Reruns + 1, Stage(before.Rerun, "data").Attempts.Count);
        Assert.Equal(IndexedExperiments + 2, before.Index.Total);
        await LogBlobSizesAsync(e2e, largest, rerun);

        first.Kill();
        e2e.Log("killed silo-1");
        var (_, reloaded) = await e2e.StartSiloAsync("silo-2", ports, TimeSpan.FromSeconds(30));
        var after = await ViewsAsync(reloaded, largest, rerun);

        Assert.Equal(Json(before.Largest), Json(after.Largest));
        Assert.Equal(Json(before.Rerun), Json(after.Rerun));
        Assert.Equal(Json(before.Index), Json(after.Index));
        Assert.Equal([rerun, largest], after.Index.Items.Take(2).Select(summary => summary.Id));
        e2e.Passed();
    }

    /// <summary>500 stages (the validator's limit), each padded with a resource label so that the spec is just under the 1 MiB the API reads.</summary>
    private static string LargestSpec()
    {
        const string head = "name: largest\nstages:\n";
        static string StageText(int number, string pad) =>
            $"  - id: s{number:D3}\n    kind: dataset.synthetic\n    resources: {{ labels: {{ pad: \"{pad}\" }} }}\n";

        var overhead = Encoding.UTF8.GetByteCount(head) + Enumerable.Range(0, SpecValidator.MaxStages).Sum(number => Encoding.UTF8.GetByteCount(StageText(number, "")));
        var pad = new string('x', (SpecLimits.Default.MaxBytes - 64 - overhead) / SpecValidator.MaxStages);
        var spec = head + string.Concat(Enumerable.Range(0, SpecValidator.MaxStages).Select(number => StageText(number, pad)));
        Assert.InRange(Encoding.UTF8.GetByteCount(spec), SpecLimits.Default.MaxBytes - 1024, SpecLimits.Default.MaxBytes);
        return spec;
    }

    /// <summary>
    /// Writes an index of <paramref name="count"/> summaries (all older than anything the test submits) in the first layout
    /// (one state, as the old index grain wrote it) through the blob provider of a silo of the test's service, started in
    /// this process and stopped again.
    /// </summary>
    private static async Task WriteIndexAsync(EndToEndEnvironment e2e, int count)
    {
        var options = new OrchestratorOptions
        {
            Mode = OrchestratorMode.Cluster,
            ClusterId = e2e.Id,
            ServiceId = e2e.Id,
            Storage = new ClusterStorageOptions { ConnectionString = TestServers.Get(TestServers.Azurite), StateContainer = e2e.StateContainerName },
        };
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = e2e.Id;
                cluster.ServiceId = e2e.Id;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, SiloPorts.FreePort(), SiloPorts.FreePort(), listenOnAnyHostAddress: false);
            silo.UseClusterStorage(options);
        });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var start = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var index = new ExperimentIndexState();
            for (var number = 0; number < count; number++)
            {
                var id = $"exp-{number:D20}";
                index.Experiments[id] = new ExperimentSummary
                {
                    Id = id,
                    Name = $"indexed-{number}",
                    // Finished, as nearly all of a long-lived index is: a silo asks the running ones to catch up, and these have no state.
                    Status = (number % 3) switch { 0 => ExperimentStatus.Succeeded, 1 => ExperimentStatus.Failed, _ => ExperimentStatus.Cancelled },
                    CreatedAt = start.AddSeconds(number),
                    EndedAt = start.AddSeconds(number + 60),
                    Stages = 1 + number % 12,
                    SubmittedBy = "e2e-admin",
                };
            }

            var grainId = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ILegacyExperimentIndexGrain>(LegacyExperimentIndexGrain.Key).GetGrainId();
            var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(OrchestratorStorage.Name);
            var clock = Stopwatch.StartNew();
            await storage.WriteStateAsync(LegacyExperimentIndexGrain.StateName, grainId, new GrainState<ExperimentIndexState>(index));
            e2e.Log($"index of {count} summaries written through the provider in {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<(Grains.Experiments.ExperimentView Largest, Grains.Experiments.ExperimentView Rerun, ExperimentPage Index)> ViewsAsync(
        OrchestratorClient api, string largest, string rerun) =>
        (await api.GetAsync(largest), await api.GetAsync(rerun), await ListAsync(api, 10));

    private static async Task<ExperimentPage> ListAsync(OrchestratorClient api, int limit) =>
        JsonSerializer.Deserialize<ExperimentPage>(await api.Http.GetStringAsync($"/api/v1/experiments?limit={limit}"), OrchestratorApp.Json)!;

    /// <summary>Logs how large each state's blob is: the experiment's, the rerun stage's, and the index's (its partitions in sum).</summary>
    private static async Task LogBlobSizesAsync(EndToEndEnvironment e2e, string largest, string rerun)
    {
        var container = new BlobServiceClient(TestServers.Get(TestServers.Azurite)).GetBlobContainerClient(e2e.StateContainerName);
        var partitions = new List<long>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            if (blob.Name.StartsWith(ExperimentIndexPartitionGrain.StateName + "-", StringComparison.Ordinal))
            {
                partitions.Add(blob.Properties.ContentLength ?? 0);
            }
            else if (blob.Name.StartsWith("experiment-index", StringComparison.Ordinal)
                || (blob.Name.StartsWith("experiment-", StringComparison.Ordinal) && blob.Name.Contains(largest, StringComparison.Ordinal))
                || (blob.Name.StartsWith("stage-", StringComparison.Ordinal) && blob.Name.Contains($"{rerun}/data", StringComparison.Ordinal)))
            {
                e2e.Log($"{blob.Name}: {blob.Properties.ContentLength / 1024.0:0.0} KiB");
            }
        }

        e2e.Log($"{ExperimentIndexPartitionGrain.StateName}: {partitions.Count} blobs, {partitions.Sum() / 1048576.0:0.0} MiB in all, the largest {partitions.DefaultIfEmpty().Max() / 1024.0:0.0} KiB");
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, OrchestratorApp.Json);

    private static Grains.Stages.StageView Stage(Grains.Experiments.ExperimentView view, string id) => view.Stages.Single(stage => stage.Id == id);
}
