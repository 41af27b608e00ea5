using System.Buffers.Binary;
using System.Text;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Weights;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("safetensors-").FullName;

    [Fact]
    public void Tensors_of_every_common_dtype_round_trip_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "round-trip.safetensors");
        var tensors = new (string, Tensor)[]
        {
            ("f32", tensor(new[] { 1.5f, -0.0f, float.NaN, float.Epsilon, 3e38f, -7f }, 2, 3)),
            ("f64", tensor(new[] { Math.PI, -1e-300 })),
            ("i64", tensor(new[] { long.MinValue, 0L, long.MaxValue })),
            ("scalar", tensor(0.07f)),
            ("empty", zeros(0, 4)),
            ("u8", tensor(new byte[] { 0, 255, 7 })),
        };

        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var loaded = Safetensors.Load(path);

        Assert.Equal(tensors.Length, loaded.Count);
        foreach (var (name, original) in tensors)
        {
            var copy = loaded[name];
            Assert.Equal(original.dtype, copy.dtype);
            Assert.Equal(original.shape, copy.shape);
            Assert.Equal(original.bytes.ToArray(), copy.bytes.ToArray());
            copy.Dispose();
        }

        Assert.Equal("pt", Safetensors.ReadMetadata(path)["format"]);
    }

    [Fact]
    public void The_file_layout_is_the_safetensors_format()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "layout.safetensors");
        Safetensors.Save(path, [("a", tensor(new[] { 1f, 2f })), ("b", tensor(new[] { 3L }))]);

        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd(' ');
        Assert.Equal(0, (8 + headerLength) % 8);
        Assert.Equal(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}""",
            header);
        Assert.Equal(8 + headerLength + 16, bytes.Length);
        Assert.Equal(2f, BitConverter.ToSingle(bytes, 8 + headerLength + 4));
        Assert.Equal(3L, BitConverter.ToInt64(bytes, 8 + headerLength + 8));
    }

    [Fact]
    public void A_file_written_elsewhere_is_read_by_its_offsets()
    {
        // As another writer might lay it out: metadata first, tensors out of header order, no padding.
        var header = """{"__metadata__":{"format":"pt"},"late":{"dtype":"F64","shape":[1],"data_offsets":[4,12]},"early":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}""";
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var data = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(data, 42);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(4), -2.5);
        var path = Path.Combine(_folder, "foreign.safetensors");
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        File.WriteAllBytes(path, [.. length, .. headerBytes, .. data]);

        var loaded = Safetensors.Load(path);

        Assert.Equal(42, loaded["early"].item<int>());
        Assert.Empty(loaded["early"].shape);
        Assert.Equal(-2.5, loaded["late"][0].item<double>());
        foreach (var tensor in loaded.Values)
        {
            tensor.Dispose();
        }
    }

    [Fact]
    public void A_truncated_file_is_refused_with_its_path()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "truncated.safetensors");
        Safetensors.Save(path, [("a", zeros(64))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^16]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
