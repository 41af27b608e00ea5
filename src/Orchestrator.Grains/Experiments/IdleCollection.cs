using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Stages;
using Orleans.Configuration;

namespace Orchestrator.Grains.Experiments;

/// <summary>How long idle experiment grains stay in memory, as every host of these grains configures it.</summary>
public static class IdleCollection
{
    /// <summary>The grain classes <see cref="ExperimentOptions.IdleCollectionAge"/> applies to: one experiment's.</summary>
    public static readonly IReadOnlyList<Type> ExperimentGrains = [typeof(ExperimentGrain), typeof(StageGrain)];

    /// <summary>
    /// Has the silo collect an experiment's grains after <see cref="ExperimentOptions.IdleCollectionAge"/> with no call,
    /// rather than Orleans' default age for every grain.
    /// </summary>
    public static ISiloBuilder CollectIdleExperiments(this ISiloBuilder silo)
    {
        silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<ExperimentOptions>>((collection, experiments) =>
        {
            foreach (var grain in ExperimentGrains)
            {
                collection.ClassSpecificCollectionAge[grain.FullName!] = experiments.Value.IdleCollectionAge;
            }
        });
        return silo;
    }
}
