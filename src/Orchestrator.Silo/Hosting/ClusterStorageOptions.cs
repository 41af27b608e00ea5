using System.Text.RegularExpressions;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The Azure Storage account a cluster keeps membership, reminders (tables) and grain state (blobs) in: either a
/// connection string (Azurite, account keys) or an account name reached with <c>DefaultAzureCredential</c> (workload
/// identity in Kubernetes). Bound from <c>Orchestrator:Storage</c>.
/// </summary>
public sealed partial record ClusterStorageOptions
{
    /// <summary>A storage connection string, e.g. Azurite's development account; or leave it out and give <see cref="AccountName"/>.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The storage account's name, reached at <c>https://NAME.table.core.windows.net</c> and <c>https://NAME.blob.core.windows.net</c> with <c>DefaultAzureCredential</c>.</summary>
    public string? AccountName { get; init; }

    /// <summary>The blob container of the grain state; unset, it is named after <c>Orchestrator:ServiceId</c>, so services sharing an account keep apart.</summary>
    public string? StateContainer { get; init; }

    /// <summary>How long one storage request may take before it is abandoned (and retried, up to <see cref="MaxRetries"/>).</summary>
    public TimeSpan TryTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Retries of a storage request that failed or timed out, after <see cref="RetryDelay"/> (doubling).</summary>
    public int MaxRetries { get; init; } = 1;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public bool UsesCredential => string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>The blob container of the grain state of the service <paramref name="serviceId"/>.</summary>
    public string StateContainerFor(string serviceId)
    {
        if (!string.IsNullOrWhiteSpace(StateContainer))
        {
            return StateContainer;
        }

        var name = "state-" + NotContainerCharacters().Replace(serviceId.ToLowerInvariant(), "-").Trim('-');
        name = RepeatedHyphens().Replace(name, "-");
        return name.Length > 63 ? name[..63].TrimEnd('-') : name;
    }

    /// <summary>Azure's rule for container names: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.</summary>
    public static bool IsContainerName(string name) => ContainerName().IsMatch(name) && !name.Contains("--", StringComparison.Ordinal);

    /// <summary>Azure's rule for account names: 3 to 24 lowercase letters and digits.</summary>
    public static bool IsAccountName(string? name) => name is not null && AccountNamePattern().IsMatch(name);

    [GeneratedRegex("[^a-z0-9-]")]
    private static partial Regex NotContainerCharacters();

    [GeneratedRegex("-{2,}")]
    private static partial Regex RepeatedHyphens();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();

    [GeneratedRegex("^[a-z0-9]{3,24}$")]
    private static partial Regex AccountNamePattern();
}
