using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Weights;

/// <summary>
/// The safetensors format, written and read here: an 8-byte little-endian header length, a JSON header mapping each
/// name to <c>{dtype, shape, data_offsets}</c> (offsets into the data that follows, with an optional
/// <c>__metadata__</c> of strings), then the tensors' raw little-endian bytes, back to back in header order.
/// </summary>
public static class Safetensors
{
    private const string MetadataKey = "__metadata__";

    // Keeps a corrupt length from allocating gigabytes; safetensors' own reader refuses headers above 100 MB too.
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32",
        [ScalarType.Float64] = "F64",
        [ScalarType.Float16] = "F16",
        [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64",
        [ScalarType.Int32] = "I32",
        [ScalarType.Int16] = "I16",
        [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8",
        [ScalarType.Bool] = "BOOL",
    };

    private static readonly Dictionary<string, ScalarType> DtypesByName = DtypeNames.ToDictionary(pair => pair.Value, pair => pair.Key);

    /// <summary>Writes <paramref name="tensors"/> (names unique) to <paramref name="path"/>, copying each to the CPU as needed.</summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        EnsureLittleEndian();
        var entries = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            header[MetadataKey] = new JsonObject(metadata.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)JsonValue.Create(pair.Value))));
        }

        long offset = 0;
        foreach (var (name, tensor) in entries)
        {
            if (header.ContainsKey(name))
            {
                throw new ArgumentException($"tensor name '{name}' appears twice; safetensors names are unique", nameof(tensors));
            }

            var dtype = DtypeNames.TryGetValue(tensor.dtype, out var known) ? known : throw new NotSupportedException(
                $"tensor '{name}' has dtype {tensor.dtype}, which this writer does not store; supported: {string.Join(", ", DtypeNames.Keys)}");
            var size = tensor.NumberOfElements * tensor.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray([.. tensor.shape.Select(dimension => (JsonNode?)JsonValue.Create(dimension))]),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        var padded = (headerBytes.Length + 7) / 8 * 8;
        var headerBuffer = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(headerBuffer, (ulong)padded);
        headerBytes.CopyTo(headerBuffer, 8);
        headerBuffer.AsSpan(8 + headerBytes.Length).Fill((byte)' ');

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        file.Write(headerBuffer);
        foreach (var (_, tensor) in entries)
        {
            using var scope = NewDisposeScope();
            var cpu = tensor.detach().cpu().contiguous();
            if (cpu.NumberOfElements > 0)
            {
                file.Write(cpu.bytes);
            }
        }

        file.Flush(flushToDisk: true);
    }

    /// <summary>Every tensor in <paramref name="path"/>, on the CPU, by name; the caller owns (and disposes) them.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        EnsureLittleEndian();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
        var (entries, dataStart) = ReadHeader(file, path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in entries)
            {
                var tensor = empty(entry.Shape, entry.Dtype, device: CPU);
                var size = tensor.NumberOfElements * tensor.ElementSize;
                if (size != entry.End - entry.Begin)
                {
                    tensor.Dispose();
                    throw new InvalidDataException(
                        $"{path}: tensor '{entry.Name}' ({entry.Dtype}, shape [{string.Join(", ", entry.Shape)}]) needs {size} bytes but its data_offsets span {entry.End - entry.Begin}");
                }

                tensors.Add(entry.Name, tensor);
                if (size > 0)
                {
                    var buffer = new byte[size];
                    file.Position = dataStart + entry.Begin;
                    file.ReadExactly(buffer);
                    tensor.bytes = buffer;
                }
            }

            return tensors;
        }
        catch
        {
            foreach (var tensor in tensors.Values)
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    /// <summary>The <c>__metadata__</c> strings of <paramref name="path"/>; empty when it has none.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = ReadHeaderJson(file, path);
        return header[MetadataKey] is JsonObject metadata
            ? metadata.ToDictionary(pair => pair.Key, pair => pair.Value?.GetValue<string>() ?? "")
            : new Dictionary<string, string>();
    }

    /// <summary>The name, dtype and shape of every tensor in <paramref name="path"/>, read from its header alone.</summary>
    public static IReadOnlyList<SafetensorsEntry> ReadEntries(string path)
    {
        EnsureLittleEndian();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return [.. ReadHeader(file, path).Entries.Select(entry => new SafetensorsEntry(entry.Name, entry.Dtype, entry.Shape))];
    }

    private static (List<Entry> Entries, long DataStart) ReadHeader(FileStream file, string path)
    {
        var header = ReadHeaderJson(file, path);
        var dataStart = file.Position;
        var dataLength = file.Length - dataStart;
        var entries = new List<Entry>();
        foreach (var (name, node) in header)
        {
            if (name == MetadataKey)
            {
                continue;
            }

            try
            {
                var dtypeName = node!["dtype"]!.GetValue<string>();
                var dtype = DtypesByName.TryGetValue(dtypeName, out var known) ? known : throw new NotSupportedException(
                    $"{path}: tensor '{name}' has dtype {dtypeName}; this reader supports {string.Join(", ", DtypesByName.Keys)}");
                var shape = node["shape"]!.AsArray().Select(dimension => dimension!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(value => value!.GetValue<long>()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                {
                    throw new InvalidDataException(
                        $"{path}: tensor '{name}' has data_offsets [{string.Join(", ", offsets)}] outside the file's {dataLength} data bytes");
                }

                entries.Add(new Entry(name, dtype, shape, offsets[0], offsets[1]));
            }
            catch (Exception error) when (error is InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new InvalidDataException($"{path}: the header entry of tensor '{name}' is malformed: {error.Message}", error);
            }
        }

        return (entries, dataStart);
    }

    private static JsonObject ReadHeaderJson(FileStream file, string path)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.Length < 8)
        {
            throw new InvalidDataException($"{path} is {file.Length} bytes long, too short for a safetensors file");
        }

        file.ReadExactly(lengthBytes);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length > MaxHeaderBytes || (long)length > file.Length - 8)
        {
            throw new InvalidDataException($"{path}: header length {length} is impossible for a file of {file.Length} bytes; not a safetensors file?");
        }

        var headerBytes = new byte[length];
        file.ReadExactly(headerBytes);
        try
        {
            return JsonNode.Parse(headerBytes) as JsonObject
                ?? throw new InvalidDataException($"{path}: the safetensors header is not a JSON object");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON: {error.Message}", error);
        }
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors stores little-endian bytes; this reader and writer copy raw memory and need a little-endian machine");
        }
    }

    private sealed record Entry(string Name, ScalarType Dtype, long[] Shape, long Begin, long End);
}

/// <summary>A tensor as a safetensors header describes it.</summary>
public sealed record SafetensorsEntry(string Name, ScalarType Dtype, long[] Shape);
