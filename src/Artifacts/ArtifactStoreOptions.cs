using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Artifacts;

/// <summary>
/// Where a worker keeps artifacts, bound from the configuration section <see cref="Section"/>
/// (e.g. <c>Artifacts__Kind=AzureBlob</c> in the environment).
/// </summary>
public sealed record ArtifactStoreOptions
{
    public const string Section = "Artifacts";

    /// <summary>The store: a folder under <see cref="DataDirectory"/> (default) or Azure Blob Storage.</summary>
    public ArtifactStoreKind Kind { get; init; } = ArtifactStoreKind.Folder;

    /// <summary>
    /// The worker's own data: the folder store keeps artifacts in <c>{DataDirectory}/artifacts</c>, the blob
    /// store its verified local copies in <c>{DataDirectory}/cache</c>. Must be an absolute, writable path.
    /// Defaults to <c>$XDG_DATA_HOME/orchestrator</c> (usually <c>~/.local/share/orchestrator</c>), so a
    /// developer needs no setup; a service account without a home gets <c>/var/lib/orchestrator</c>, which
    /// its unit must create (deployments set this key explicitly).
    /// </summary>
    [Required]
    public string DataDirectory { get; init; } = DefaultDataDirectory();

    /// <summary>The storage account's connection string; required when <see cref="Kind"/> is AzureBlob.</summary>
    public string? AzureBlobConnectionString { get; init; }

    /// <summary>The blob container artifacts go to; created on first commit if missing.</summary>
    [RegularExpression("^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
        ErrorMessage = "Artifacts:Container must be a valid blob container name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit")]
    public string Container { get; init; } = "artifacts";

    /// <summary>Retries of a storage call that failed transiently (0 turns retries off).</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; init; } = 5;

    /// <summary>The first retry's delay; later ones grow exponentially, with jitter so workers do not retry in step.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest a single retry waits.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Storage calls in 30 seconds before the circuit breaker may judge the failure ratio (half failing opens it).</summary>
    [Range(2, 10_000)]
    public int CircuitBreakerMinimumThroughput { get; init; } = 10;

    /// <summary>How long an open circuit fails calls at once, sparing a struggling store before trying again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.5", "01:00:00")]
    public TimeSpan CircuitBreakDuration { get; init; } = TimeSpan.FromSeconds(30);

    private static string DefaultDataDirectory()
    {
        // LocalApplicationData follows XDG_DATA_HOME and falls back to ~/.local/share; it is empty only
        // when there is no home directory at all, as for some service accounts.
        var userData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        return userData.Length > 0 ? Path.Combine(userData, "orchestrator") : "/var/lib/orchestrator";
    }
}

/// <summary>The artifact stores a worker can use.</summary>
public enum ArtifactStoreKind
{
    /// <summary>A folder on a local or shared file system.</summary>
    Folder,

    /// <summary>An Azure Blob Storage container (or Azurite).</summary>
    AzureBlob,
}
