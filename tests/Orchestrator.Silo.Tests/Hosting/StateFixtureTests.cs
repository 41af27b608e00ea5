using System.Diagnostics.Metrics;
using System.Net;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Grains;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Orchestrator.Silo.Hosting;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Silo.Tests.Hosting;

/// <summary>
/// State written by today's code reloads through the cluster's Azure provider: the committed bytes of an experiment's and a
/// stage's state, put where the blob provider keeps that grain's state, read back by a silo's provider as the same values.
/// </summary>
public sealed class StateFixtureTests
{
    [ServerFact(TestServers.Azurite)]
    public async Task An_experiment_and_a_stage_written_by_today_s_code_read_back_through_the_azure_blob_provider()
    {
        var serviceId = $"fixture-{Guid.NewGuid():N}"[..20];
        using var lease = await AzuriteControl.ShareAsync();
        using var requests = new StorageRequestCounts();
        using var host = StartSilo(serviceId, out var container);
        await host.StartAsync();
        try
        {
            var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(OrchestratorStorage.Name);

            var experiment = await ReadFixtureAsync<ExperimentState>(storage, container, "experiment", GrainId.Create("experiment", "exp-fixture"), StateFixtures.ExperimentFile);
            Assert.Equal(StateFixtures.Describe(StateFixtures.Experiment()), StateFixtures.Describe(experiment));

            var stage = await ReadFixtureAsync<StageState>(storage, container, "stage", GrainId.Create("stage", "exp-fixture/pretrain"), StateFixtures.StageFile);
            Assert.Equal(StateFixtures.Describe(StateFixtures.Stage()), StateFixtures.Describe(stage));

            // Every request was counted: the silo joining its membership table, and each state's write and read.
            Assert.True(requests.Get("table", "membership", "write", "ok") >= 1, requests.ToString());
            Assert.True(requests.Get("blob", "experiment", "write", "ok") >= 1, requests.ToString());
            Assert.True(requests.Get("blob", "experiment", "read", "ok") >= 1, requests.ToString());
            Assert.True(requests.Get("blob", "stage", "read", "ok") >= 1, requests.ToString());
        }
        finally
        {
            await host.StopAsync();
            await container.DeleteIfExistsAsync();
        }
    }

    /// <summary>Writes the fixtures from today's code; run once, on purpose, with <c>ORCH_WRITE_STATE_FIXTURES=1</c>.</summary>
    [Fact]
    public async Task The_fixtures_are_written_only_when_asked()
    {
        if (Environment.GetEnvironmentVariable("ORCH_WRITE_STATE_FIXTURES") != "1")
        {
            Assert.True(File.Exists(StateFixtures.Path(StateFixtures.ExperimentFile)) && File.Exists(StateFixtures.Path(StateFixtures.StageFile)));
            return;
        }

        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        await File.WriteAllBytesAsync(StateFixtures.Path(StateFixtures.ExperimentFile), serializer.SerializeToArray(StateFixtures.Experiment()));
        await File.WriteAllBytesAsync(StateFixtures.Path(StateFixtures.StageFile), serializer.SerializeToArray(StateFixtures.Stage()));
    }

    /// <summary>
    /// Lets the provider write a state of its own for <paramref name="grainId"/> (so the blob is where it looks), replaces
    /// that blob's content with the fixture's bytes, and reads it back through the provider.
    /// </summary>
    private static async Task<T> ReadFixtureAsync<T>(IGrainStorage storage, BlobContainerClient container, string stateName, GrainId grainId, string file)
        where T : new()
    {
        await storage.WriteStateAsync(stateName, grainId, new GrainState<T>(new T()));
        var blob = Assert.Single(container.GetBlobs(BlobTraits.None, BlobStates.None, stateName + "-", CancellationToken.None), item => item.Name.Contains(grainId.Key.ToString()!, StringComparison.Ordinal));
        await container.GetBlobClient(blob.Name).UploadAsync(BinaryData.FromBytes(await File.ReadAllBytesAsync(StateFixtures.Path(file))), overwrite: true);

        var read = new GrainState<T>();
        await storage.ReadStateAsync(stateName, grainId, read);
        Assert.True(read.RecordExists);
        return read.State!;
    }

    private static IHost StartSilo(string serviceId, out BlobContainerClient container)
    {
        var options = new OrchestratorOptions
        {
            Mode = OrchestratorMode.Cluster,
            ClusterId = serviceId,
            ServiceId = serviceId,
            Storage = new ClusterStorageOptions { ConnectionString = TestServers.Get(TestServers.Azurite) },
        };
        container = new BlobServiceClient(options.Storage.ConnectionString).GetBlobContainerClient(options.Storage.StateContainerFor(serviceId));
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = serviceId;
                cluster.ServiceId = serviceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, OrchestratorFactory.FreePort(), OrchestratorFactory.FreePort(), listenOnAnyHostAddress: false);
            silo.UseClusterStorage(options);
        });
        return builder.Build();
    }

    /// <summary>What <see cref="StorageRequestMetrics"/> counted while it listened, by service, state, operation and outcome.</summary>
    private sealed class StorageRequestCounts : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public StorageRequestCounts()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == StorageRequestMetrics.InstrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                var key = string.Join('/', tags.ToArray().Select(tag => tag.Value));
                lock (_counts)
                {
                    _counts[key] = _counts.GetValueOrDefault(key) + value;
                }
            });
            _listener.Start();
        }

        public long Get(string service, string state, string operation, string outcome)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault($"{service}/{state}/{operation}/{outcome}");
            }
        }

        public override string ToString()
        {
            lock (_counts)
            {
                return string.Join(", ", _counts.Select(count => $"{count.Key}={count.Value}"));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
