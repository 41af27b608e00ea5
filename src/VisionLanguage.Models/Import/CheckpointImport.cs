using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Import;

/// <summary>
/// Imports a checkpoint folder in HF's layout: <c>config.json</c>, the weights as <c>model.safetensors</c> or as shards
/// listed by <c>model.safetensors.index.json</c>, and the architecture's tokenizer files. Every name and shape the
/// config implies is checked against the safetensors headers before a tensor is read, and every mismatch is reported in
/// one <see cref="ModelImportException"/>. What is written is one <c>model.safetensors</c> of the tensors the model uses,
/// under their canonical names and in their stored dtype, the config and tokenizer files as they were, and
/// <see cref="DescriptionFile"/>.
/// </summary>
public static class CheckpointImport
{
    public const string DescriptionFile = "imported_model.json";
    public const string WeightsFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    public const string IndexFile = "model.safetensors.index.json";

    private static readonly HashSet<ScalarType> FloatingDtypes = [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64];

    /// <summary>
    /// Checks <paramref name="folder"/> as <paramref name="architecture"/> and writes the imported model into
    /// <paramref name="output"/>. Every file is opened at the path <paramref name="open"/> returns for it, which may
    /// refuse it (the worker's import roots).
    /// </summary>
    public static ImportedModelDescription Import(
        string folder, ImportArchitecture architecture, string output, Func<string, string> open, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        var files = new List<string>();
        var config = ReadConfig(folder, open, problems, files);
        var shards = ReadWeightIndex(folder, open, problems, files);
        var problemsBefore = problems.Count;
        var description = config is null ? null : architecture.Describe(config, problems);
        var stored = CanonicalEntries(architecture, shards, problems, out var ignored);
        if (description is not null && problems.Count == problemsBefore)
        {
            // Shapes from a config that does not read would only repeat its problems, tensor by tensor.
            CheckTensors(architecture.Expected(description), stored, problems);
        }

        foreach (var required in architecture.RequiredFiles.Where(name => !File.Exists(open(Path.Combine(folder, name)))))
        {
            problems.Add($"{required} is missing; {architecture.Name} checkpoints need it (save_pretrained of their tokenizer writes it)");
        }

        if (problems.Count > 0 || description is null)
        {
            throw new ModelImportException(folder, architecture.Name, problems);
        }

        Directory.CreateDirectory(output);
        var expected = architecture.Expected(description).Where(tensor => stored.ContainsKey(tensor.Name)).Select(tensor => tensor.Name).ToList();
        WriteWeights(Path.Combine(output, WeightsFile), expected, stored, cancellationToken);
        File.Copy(open(Path.Combine(folder, ConfigFile)), Path.Combine(output, ConfigFile));
        foreach (var name in architecture.RequiredFiles.Concat(architecture.OptionalFiles))
        {
            var source = open(Path.Combine(folder, name));
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(output, name));
                files.Add(name);
            }
        }

        var imported = description with
        {
            // Names the architecture reads but this config's model has none of (a tied head stored anyway) are unused too.
            IgnoredTensors = ignored + stored.Count - expected.Count,
            Source = [.. files.Select(name => Describe(folder, name, open, cancellationToken))],
        };
        imported.Write(output);
        return imported;
    }

    private static JsonObject? ReadConfig(string folder, Func<string, string> open, List<string> problems, List<string> files)
    {
        var path = open(Path.Combine(folder, ConfigFile));
        if (!File.Exists(path))
        {
            problems.Add($"{ConfigFile} is missing; the model's shape is read from it (save_pretrained writes it)");
            return null;
        }

        files.Add(ConfigFile);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? Problem<JsonObject>(problems, $"{ConfigFile} is not a JSON object");
        }
        catch (JsonException error)
        {
            return Problem<JsonObject>(problems, $"{ConfigFile} is not valid JSON: {error.Message}");
        }
    }

    /// <summary>Each weights file's real path and its header's entries: the one file, or every shard the index names.</summary>
    private static List<(string Path, IReadOnlyList<SafetensorsEntry> Entries)> ReadWeightIndex(
        string folder, Func<string, string> open, List<string> problems, List<string> files)
    {
        var index = open(Path.Combine(folder, IndexFile));
        if (!File.Exists(index))
        {
            var single = open(Path.Combine(folder, WeightsFile));
            if (File.Exists(single))
            {
                files.Add(WeightsFile);
                return ReadShard(single, WeightsFile, problems) is { } entries ? [(single, entries)] : [];
            }

            var other = Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(IsOtherWeights).ToList() : [];
            problems.Add($"neither {WeightsFile} nor {IndexFile} is in the folder" + (other.Count > 0
                ? $" (it has {string.Join(", ", other)}: convert them to safetensors, e.g. with save_pretrained(safe_serialization=True))"
                : "; save the model with save_pretrained, which writes them"));
            return [];
        }

        files.Add(IndexFile);
        Dictionary<string, string> map;
        try
        {
            map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject().ToDictionary(pair => pair.Key, pair => pair.Value!.GetValue<string>())
                ?? [];
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or NullReferenceException)
        {
            problems.Add($"{IndexFile} does not read as {{\"weight_map\": {{name: shard file}}}}: {error.Message}");
            return [];
        }

        var shards = new List<(string, IReadOnlyList<SafetensorsEntry>)>();
        foreach (var shard in map.Values.Distinct().Order(StringComparer.Ordinal))
        {
            if (shard.Contains('/') || shard.Contains('\\') || shard is "." or "..")
            {
                problems.Add($"{IndexFile} names shard '{shard}', which is not a file name in the folder");
                continue;
            }

            var path = open(Path.Combine(folder, shard));
            if (!File.Exists(path))
            {
                problems.Add($"shard {shard}, named by {IndexFile}, is missing");
                continue;
            }

            files.Add(shard);
            if (ReadShard(path, shard, problems) is not { } entries)
            {
                continue;
            }

            var names = entries.Select(entry => entry.Name).ToHashSet(StringComparer.Ordinal);
            problems.AddRange(map.Where(pair => pair.Value == shard && !names.Contains(pair.Key))
                .Select(pair => $"{IndexFile} places {pair.Key} in {shard}, which does not hold it"));
            shards.Add((path, [.. entries.Where(entry => map.GetValueOrDefault(entry.Name) == shard)]));
        }

        return shards;
    }

    private static IReadOnlyList<SafetensorsEntry>? ReadShard(string path, string name, List<string> problems)
    {
        try
        {
            return Safetensors.ReadEntries(path);
        }
        catch (Exception error) when (error is InvalidDataException or NotSupportedException or IOException)
        {
            problems.Add($"{name} is not a readable safetensors file: {error.Message}");
            return null;
        }
    }

    private static Dictionary<string, StoredTensor> CanonicalEntries(
        ImportArchitecture architecture, List<(string Path, IReadOnlyList<SafetensorsEntry> Entries)> shards, List<string> problems, out int ignored)
    {
        var stored = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        ignored = 0;
        foreach (var (path, entries) in shards)
        {
            foreach (var entry in entries)
            {
                if (architecture.Canonical(entry.Name) is not { } canonical)
                {
                    ignored++;
                }
                else if (!stored.TryAdd(canonical, new StoredTensor(path, entry)))
                {
                    problems.Add($"{entry.Name} and {stored[canonical].Entry.Name} are the same tensor ({canonical}) stored twice");
                }
            }
        }

        return stored;
    }

    private static void CheckTensors(IEnumerable<ExpectedTensor> expected, Dictionary<string, StoredTensor> stored, List<string> problems)
    {
        foreach (var tensor in expected)
        {
            if (!stored.TryGetValue(tensor.Name, out var found))
            {
                if (!tensor.Optional)
                {
                    problems.Add($"{tensor.Name} is missing (expected shape [{string.Join(", ", tensor.Shape)}])");
                }
            }
            else if (!found.Entry.Shape.SequenceEqual(tensor.Shape))
            {
                problems.Add($"{found.Entry.Name} has shape [{string.Join(", ", found.Entry.Shape)}], but config.json implies [{string.Join(", ", tensor.Shape)}]");
            }
            else if (!FloatingDtypes.Contains(found.Entry.Dtype))
            {
                problems.Add($"{found.Entry.Name} is stored as {found.Entry.Dtype}; weights must be a floating type (F32, F16, BF16, F64)");
            }
        }
    }

    /// <summary>Reads the used tensors shard by shard and writes them in model order under their canonical names.</summary>
    private static void WriteWeights(string path, IReadOnlyList<string> names, Dictionary<string, StoredTensor> stored, CancellationToken cancellationToken)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in names.Select(name => stored[name].Path).Distinct())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var loaded = Safetensors.Load(shard);
                foreach (var (name, tensor) in names.Where(name => stored[name].Path == shard).Select(name => (name, stored[name].Entry.Name)))
                {
                    tensors[name] = loaded[tensor];
                    loaded.Remove(tensor);
                }

                foreach (var unused in loaded.Values)
                {
                    unused.Dispose();
                }
            }

            Safetensors.Save(path, names.Select(name => (name, tensors[name])), new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var tensor in tensors.Values)
            {
                tensor.Dispose();
            }
        }
    }

    private static ImportedFile Describe(string folder, string name, Func<string, string> open, CancellationToken cancellationToken)
    {
        using var stream = File.OpenRead(open(Path.Combine(folder, name)));
        var hash = SHA256.HashDataAsync(stream, cancellationToken).AsTask().GetAwaiter().GetResult();
        return new ImportedFile(name, stream.Length, Convert.ToHexStringLower(hash));
    }

    private static bool IsOtherWeights(string? name) =>
        name is not null && (name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".pth", StringComparison.Ordinal)
            || name.EndsWith(".pt", StringComparison.Ordinal) || name.EndsWith(".ckpt", StringComparison.Ordinal));

    private static T? Problem<T>(List<string> problems, string problem)
        where T : class
    {
        problems.Add(problem);
        return null;
    }

    private sealed record StoredTensor(string Path, SafetensorsEntry Entry);
}
