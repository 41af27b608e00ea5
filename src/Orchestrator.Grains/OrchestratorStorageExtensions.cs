using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;

namespace Orchestrator.Grains;

/// <summary>Grain storage as every host of these grains configures it.</summary>
public static class OrchestratorStorageExtensions
{
    /// <summary>In-process grain storage for a single silo (standalone mode, tests, benchmarks): see <see cref="InProcessGrainStorage"/>.</summary>
    public static ISiloBuilder AddOrchestratorMemoryStorage(this ISiloBuilder silo)
    {
        silo.Services.AddGrainStorage(OrchestratorStorage.Name, (services, _) => ActivatorUtilities.CreateInstance<InProcessGrainStorage>(services));
        return silo;
    }
}
