using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Orchestrator.Artifacts.Tests;

public sealed class ArtifactStoreServiceCollectionExtensionsTests
{
    // Azurite's well-known development account: parsing it opens no connection.
    private const string DevelopmentStorage =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    private static readonly string DataDirectory = Path.Combine(Path.GetTempPath(), "artifact-options-tests");

    [Fact]
    public void The_folder_store_is_the_default_and_one_instance_serves_the_process()
    {
        using var provider = Build(new() { ["Artifacts:DataDirectory"] = DataDirectory });

        var store = Assert.IsType<FolderArtifactStore>(provider.GetRequiredService<IArtifactStore>());

        Assert.Equal(Path.Combine(DataDirectory, "artifacts"), store.Root);
        Assert.Same(store, provider.GetRequiredService<IArtifactStore>());
        Assert.NotNull(provider.GetRequiredService<CheckpointResolver>());
    }

    [Fact]
    public void AzureBlob_with_a_connection_string_selects_the_blob_store_and_its_container()
    {
        using var provider = Build(new()
        {
            ["Artifacts:Kind"] = "AzureBlob",
            ["Artifacts:DataDirectory"] = DataDirectory,
            ["Artifacts:AzureBlobConnectionString"] = DevelopmentStorage,
            ["Artifacts:Container"] = "checkpoints",
        });

        var store = Assert.IsType<BlobArtifactStore>(provider.GetRequiredService<IArtifactStore>());

        Assert.Equal("checkpoints", store.Container.Name);
    }

    [Fact]
    public void AzureBlob_without_a_connection_string_fails_naming_the_key_and_the_fix()
    {
        using var provider = Build(new() { ["Artifacts:Kind"] = "AzureBlob", ["Artifacts:DataDirectory"] = DataDirectory });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ArtifactStoreOptions>>().Value);

        Assert.Equal(
            ["Artifacts:AzureBlobConnectionString is required when Artifacts:Kind is AzureBlob: set it to the storage account's " +
             "connection string (e.g. the environment variable Artifacts__AzureBlobConnectionString), or set Artifacts:Kind to Folder"],
            error.Failures);
    }

    [Fact]
    public void A_malformed_connection_string_is_refused_without_echoing_it()
    {
        using var provider = Build(new()
        {
            ["Artifacts:Kind"] = "AzureBlob",
            ["Artifacts:DataDirectory"] = DataDirectory,
            ["Artifacts:AzureBlobConnectionString"] = "secret-but-not-a-connection-string",
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ArtifactStoreOptions>>().Value);

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("Artifacts:AzureBlobConnectionString is not a storage connection string", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_data_directory_and_an_invalid_container_are_refused()
    {
        using var provider = Build(new() { ["Artifacts:DataDirectory"] = "data", ["Artifacts:Container"] = "Bad_Name" });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ArtifactStoreOptions>>().Value);

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains(error.Failures, failure => failure.StartsWith("Artifacts:DataDirectory 'data' is relative", StringComparison.Ordinal));
        Assert.Contains(error.Failures, failure => failure.Contains("Artifacts:Container must be a valid blob container name", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Artifacts:Kind"] = "AzureBlob" });
        builder.Services.AddArtifactStore(builder.Configuration);
        using var host = builder.Build();

        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    [Fact]
    public void The_default_data_directory_is_the_users_data_folder()
    {
        var userData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);

        Assert.Equal(Path.Combine(userData, "orchestrator"), new ArtifactStoreOptions().DataDirectory);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddArtifactStore(configuration).BuildServiceProvider();
    }
}
