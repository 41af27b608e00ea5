using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Orchestrator.Artifacts;

/// <summary>Registers the artifact store a worker's configuration names.</summary>
public static class ArtifactStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IArtifactStore"/> (the store section <see cref="ArtifactStoreOptions.Section"/> names,
    /// one per process) and <see cref="CheckpointResolver"/>; the options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddArtifactStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ArtifactStoreOptions>()
            .Bind(configuration.GetSection(ArtifactStoreOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ArtifactStoreOptions>, ArtifactStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ArtifactStoreResilience>();
        services.TryAddSingleton<IArtifactStore>(provider =>
            provider.GetRequiredService<IOptions<ArtifactStoreOptions>>().Value.Kind switch
            {
                ArtifactStoreKind.AzureBlob => ActivatorUtilities.CreateInstance<BlobArtifactStore>(provider),
                _ => ActivatorUtilities.CreateInstance<FolderArtifactStore>(provider),
            });
        services.TryAddSingleton<CheckpointResolver>();
        return services;
    }
}
