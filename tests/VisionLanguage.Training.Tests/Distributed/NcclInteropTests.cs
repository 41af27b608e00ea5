using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VisionLanguage.Training.Distributed.Nccl;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// What the NCCL backend hands the C library, checked without one: struct sizes and layouts, enum values and the dtype
/// map against <c>nccl.h</c> (reference/distributed.md §2.2), and TorchSharp's internal <c>THSTensor_data</c> export.
/// </summary>
public sealed class NcclInteropTests
{
    [Fact]
    public void The_unique_id_is_128_blittable_bytes_that_round_trip()
    {
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueId>());
        Assert.Equal(128, Marshal.SizeOf<NcclUniqueId>());
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)(255 - i)).ToArray();

        var id = NcclUniqueId.FromBytes(bytes);

        Assert.Equal(bytes, id.ToArray());
        Assert.Equal(bytes, MemoryMarshal.AsBytes(new ReadOnlySpan<NcclUniqueId>(in id)).ToArray());
        Assert.Equal(id, NcclUniqueId.FromBytes(id.ToArray()));
        var tooShort = Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBytes(bytes.AsSpan(0, 127)));
        Assert.Contains("127", tooShort.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_config_is_nccl_2_14s_24_byte_prefix_nonblocking()
    {
        var config = NcclConfig.Nonblocking();
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<NcclConfig>(in config));

        Assert.Equal(24, Unsafe.SizeOf<NcclConfig>());
        Assert.Equal(24, Marshal.SizeOf<NcclConfig>());
        Assert.Equal(0, Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.StructSize)).ToInt32());
        Assert.Equal(8, Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Magic)).ToInt32());
        Assert.Equal(12, Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Version)).ToInt32());
        Assert.Equal(16, Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Blocking)).ToInt32());
        Assert.Equal(24UL, BitConverter.ToUInt64(bytes[..8]));
        Assert.Equal(0xcafebeefu, BitConverter.ToUInt32(bytes[8..12]));
        Assert.Equal(21400u, BitConverter.ToUInt32(bytes[12..16]));
        Assert.Equal(0, BitConverter.ToInt32(bytes[16..20]));
        Assert.Equal(0, BitConverter.ToInt32(bytes[20..24]));
    }

    [Fact]
    public void Results_data_types_and_reduction_ops_have_nccl_hs_values()
    {
        Assert.Equal(
            [("Success", 0), ("UnhandledCudaError", 1), ("SystemError", 2), ("InternalError", 3), ("InvalidArgument", 4), ("InvalidUsage", 5),
                ("RemoteError", 6), ("InProgress", 7)],
            Values<NcclResult>());
        Assert.Equal(
            [("Int8", 0), ("Uint8", 1), ("Int32", 2), ("Uint32", 3), ("Int64", 4), ("Uint64", 5), ("Float16", 6), ("Float32", 7), ("Float64", 8),
                ("Bfloat16", 9)],
            Values<NcclDataType>());
        Assert.Equal([("Sum", 0), ("Prod", 1), ("Max", 2), ("Min", 3), ("Avg", 4)], Values<NcclRedOp>());
    }

    [Theory]
    [InlineData(ScalarType.Float32, 7)]
    [InlineData(ScalarType.Float16, 6)]
    [InlineData(ScalarType.BFloat16, 9)]
    [InlineData(ScalarType.Float64, 8)]
    [InlineData(ScalarType.Int32, 2)]
    [InlineData(ScalarType.Int64, 4)]
    [InlineData(ScalarType.Byte, 1)]
    [InlineData(ScalarType.Int8, 0)]
    public void Each_tensor_dtype_maps_to_its_nccl_type(ScalarType scalarType, int ncclType) =>
        Assert.Equal(ncclType, (int)NcclDataTypes.For(scalarType));

    [Theory]
    [InlineData(ScalarType.Bool)]
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.ComplexFloat32)]
    public void A_dtype_nccl_cannot_carry_is_refused_by_name(ScalarType scalarType)
    {
        var refused = Assert.Throws<NotSupportedException>(() => NcclDataTypes.For(scalarType));
        Assert.Contains(scalarType.ToString(), refused.Message, StringComparison.Ordinal);
        Assert.Contains("convert", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Torchsharps_internal_data_export_is_the_storage_base_plus_the_views_offset()
    {
        using var whole = arange(10, dtype: float32);
        using var view = whole.narrow(0, 3, 4);
        using var storage = view.storage<float>();

        Assert.Equal(3, view.storage_offset());
        Assert.Equal(storage.data_ptr() + (3 * sizeof(float)), NativeNcclApi.DataPointer(view));
        Assert.Equal(storage.data_ptr(), NativeNcclApi.DataPointer(whole));
    }

    [Fact]
    public void The_native_api_refuses_a_cpu_tensor_saying_what_to_do()
    {
        using var cpu = zeros(4);
        var onCpu = Assert.Throws<ArgumentException>(() => NativeNcclApi.CudaPointer(cpu));
        Assert.Contains("cpu", onCpu.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("move it to CUDA", onCpu.Message, StringComparison.Ordinal);
    }

    private static (string Name, int Value)[] Values<TEnum>()
        where TEnum : struct, Enum =>
        [.. Enum.GetValues<TEnum>().Select(value => (value.ToString(), Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)))];
}
