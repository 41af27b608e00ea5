using Orchestrator.Grains.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>Wires what submitting a spec needs: the submitter and the limits on reading a spec.</summary>
public static class SubmissionServiceCollectionExtensions
{
    /// <summary>Adds <see cref="ExperimentSubmitter"/> and <see cref="SpecLimits"/> from section <c>SpecLimits</c>, validated at start.</summary>
    public static IServiceCollection AddExperimentSubmissions(this IServiceCollection services)
    {
        services.AddOptions<SpecLimits>()
            .BindConfiguration(SpecLimits.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ExperimentSubmitter>();
        return services;
    }
}
