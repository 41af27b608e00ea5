using Orchestrator.Grains.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>Wires what submitting a spec needs: the submitter, the limits on reading a spec, and what the workers can do.</summary>
public static class SubmissionServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ExperimentSubmitter"/>, <see cref="SpecLimits"/> from section <c>SpecLimits</c> (validated at start),
    /// and <see cref="WorkerCapabilities"/>, which takes a <see cref="LocalWorker"/> from the container when the host
    /// registers one (standalone mode).
    /// </summary>
    public static IServiceCollection AddExperimentSubmissions(this IServiceCollection services)
    {
        services.AddOptions<SpecLimits>()
            .BindConfiguration(SpecLimits.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider => new WorkerCapabilities(provider.GetRequiredService<IGrainFactory>(), provider.GetService<LocalWorker>()));
        services.AddSingleton<ExperimentSubmitter>();
        return services;
    }
}
