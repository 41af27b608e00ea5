using Microsoft.Extensions.Options;

namespace Orchestrator.Silo.Security;

/// <summary>
/// The API keys in force, found by the hash of a presented key: those of configuration (read again when the
/// configuration reloads) and those of <see cref="AuthOptions.ApiKeysFile"/> (read again when the file's time or
/// size changes, looked at no more often than <see cref="AuthOptions.KeysFileCheckInterval"/>). A file that no
/// longer reads or holds an invalid entry is logged and ignored: the keys read last stay in force.
/// </summary>
public sealed class ApiKeyStore : IDisposable
{
    private readonly IOptionsMonitor<AuthOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ApiKeyStore> _logger;
    private readonly IDisposable? _subscription;
    private readonly Lock _fileLock = new();
    private volatile Dictionary<string, ApiKeyEntry> _configured;
    private volatile Dictionary<string, ApiKeyEntry> _fromFile = [];
    private (string Path, DateTime WrittenAt, long Length)? _fileVersion;
    private DateTimeOffset _nextFileCheck = DateTimeOffset.MinValue;

    public ApiKeyStore(IOptionsMonitor<AuthOptions> options, TimeProvider time, ILogger<ApiKeyStore> logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _configured = ByHash(options.CurrentValue.ApiKeys);
        _subscription = options.OnChange(changed => Reload(changed.ApiKeys, "configuration", keys => _configured = keys));
    }

    /// <summary>The entry whose hash is that of <paramref name="key"/>, whatever its state (revoked, expired), or null.</summary>
    public ApiKeyEntry? Find(string key)
    {
        RefreshFileIfDue();
        var hash = ApiKeyEntries.Hash(key);
        return _fromFile.GetValueOrDefault(hash) ?? _configured.GetValueOrDefault(hash);
    }

    /// <summary>Every key in force, for the administration endpoint (no hashes).</summary>
    public IReadOnlyList<ApiKeyEntry> All()
    {
        RefreshFileIfDue();
        return [.. _fromFile.Values.Concat(_configured.Values).OrderBy(entry => entry.Id, StringComparer.Ordinal)];
    }

    public void Dispose() => _subscription?.Dispose();

    private void RefreshFileIfDue()
    {
        var options = _options.CurrentValue;
        if (string.IsNullOrWhiteSpace(options.ApiKeysFile) || _time.GetUtcNow() < _nextFileCheck)
        {
            return;
        }

        lock (_fileLock)
        {
            _nextFileCheck = _time.GetUtcNow() + options.KeysFileCheckInterval;
            var file = new FileInfo(options.ApiKeysFile);
            var version = (file.FullName, file.Exists ? file.LastWriteTimeUtc : DateTime.MinValue, file.Exists ? file.Length : -1);
            if (_fileVersion == version)
            {
                return;
            }

            _fileVersion = version;
            try
            {
                Reload(ApiKeyEntries.ReadFile(file.FullName), $"Auth:ApiKeysFile '{file.FullName}'", keys => _fromFile = keys);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                _logger.LogError("Auth:ApiKeysFile '{File}' cannot be read ({Error}); the keys read last stay in force", file.FullName, exception.Message);
            }
        }
    }

    private void Reload(List<ApiKeyEntry> entries, string source, Action<Dictionary<string, ApiKeyEntry>> apply)
    {
        var problems = ApiKeyEntries.Problems(entries, source).ToList();
        if (problems.Count > 0)
        {
            _logger.LogError("API keys from {Source} were not applied; the keys read last stay in force: {Problems}", source, string.Join("; ", problems));
            return;
        }

        apply(ByHash(entries));
        _logger.LogInformation("API keys from {Source}: {Keys} in force ({Revoked} revoked)", source, entries.Count, entries.Count(entry => entry.Revoked));
    }

    private static Dictionary<string, ApiKeyEntry> ByHash(IEnumerable<ApiKeyEntry> entries) =>
        entries.GroupBy(entry => entry.Hash.ToLowerInvariant()).ToDictionary(group => group.Key, group => group.First());
}
