using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Grains;

/// <summary>Grain storage as every host of these grains configures it.</summary>
public static class OrchestratorStorageExtensions
{
    /// <summary>
    /// In-memory grain storage (standalone mode, tests, benchmarks) that copies state with the Orleans
    /// serializer: the default JSON serializer made every state write the most expensive part of a stage transition.
    /// </summary>
    public static ISiloBuilder AddOrchestratorMemoryStorage(this ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(OrchestratorStorage.Name);
        silo.Services.AddOptions<MemoryGrainStorageOptions>(OrchestratorStorage.Name)
            .Configure<Serializer>((options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
        return silo;
    }
}
