using Orchestrator.Grains.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>Wires what submitting a spec needs: the submitter, the limits on reading a spec, and where imports may read.</summary>
public static class SubmissionServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ExperimentSubmitter"/>, <see cref="SpecLimits"/> from section <c>SpecLimits</c> (validated at start),
    /// and <see cref="ImportRootsSource"/> with <paramref name="localImportRoots"/>, those of a worker in this process.
    /// </summary>
    public static IServiceCollection AddExperimentSubmissions(this IServiceCollection services, IReadOnlyList<string> localImportRoots)
    {
        services.AddOptions<SpecLimits>()
            .BindConfiguration(SpecLimits.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider => new ImportRootsSource(provider.GetRequiredService<IGrainFactory>(), localImportRoots));
        services.AddSingleton<ExperimentSubmitter>();
        return services;
    }
}
