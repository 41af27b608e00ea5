using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>
/// NCCL's <c>ncclUniqueId</c>: 128 opaque bytes (<c>NCCL_UNIQUE_ID_BYTES</c>) that rank 0 creates and every rank passes,
/// by value, to <c>ncclCommInitRankConfig</c>. Blittable: one byte field in a struct of declared size 128, so the
/// runtime passes it exactly as C passes the struct (SysV: copied onto the stack).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct NcclUniqueId : IEquatable<NcclUniqueId>
{
    /// <summary><c>NCCL_UNIQUE_ID_BYTES</c>.</summary>
    public const int Size = 128;

    private byte _first;

    /// <summary>The id from the <paramref name="bytes"/> another rank published; exactly <see cref="Size"/> of them.</summary>
    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException(
                $"an NCCL unique id is {Size} bytes (NCCL_UNIQUE_ID_BYTES), but {bytes.Length} were given: pass the bytes of rank 0's " +
                "ncclGetUniqueId unchanged", nameof(bytes));
        }

        var id = default(NcclUniqueId);
        bytes.CopyTo(id.Bytes);
        return id;
    }

    /// <summary>A copy of the 128 bytes, to publish through the rendezvous store.</summary>
    public readonly byte[] ToArray() => Unsafe.AsRef(in this).Bytes.ToArray();

    public readonly bool Equals(NcclUniqueId other) => Unsafe.AsRef(in this).Bytes.SequenceEqual(other.Bytes);

    public override readonly bool Equals(object? obj) => obj is NcclUniqueId other && Equals(other);

    public override readonly int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Unsafe.AsRef(in this).Bytes);
        return hash.ToHashCode();
    }

    public static bool operator ==(NcclUniqueId left, NcclUniqueId right) => left.Equals(right);

    public static bool operator !=(NcclUniqueId left, NcclUniqueId right) => !left.Equals(right);

    // The struct's declared size, not its one field, is the extent of the id.
    [UnscopedRef]
    private Span<byte> Bytes => MemoryMarshal.CreateSpan(ref _first, Size);
}

/// <summary>
/// NCCL's communicator configuration <c>ncclConfig_t</c>, as NCCL 2.14 laid it out. The struct is versioned: NCCL copies
/// <c>min(size, sizeof(its own))</c> bytes, requires <see cref="ConfigMagic"/>, and resets every field newer than
/// <see cref="Version"/> to its default (<c>src/init.cc</c>), so this prefix works on every NCCL from 2.14 on.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct NcclConfig
{
    /// <summary><c>NCCL_CONFIG_INITIALIZER</c>'s magic.</summary>
    public const uint ConfigMagic = 0xcafebeef;

    /// <summary>NCCL 2.14.0 as <c>NCCL_VERSION(2, 14, 0)</c>: the first version with this config and <c>blocking</c>.</summary>
    public const uint ConfigVersion = 21400;

    /// <summary><c>sizeof</c> of the struct in bytes, for NCCL to know how much of it the caller filled.</summary>
    public nuint StructSize;

    public uint Magic;

    public uint Version;

    /// <summary>0: the communicator is nonblocking, the only mode in which <c>ncclCommAbort</c> is safe.</summary>
    public int Blocking;

    // C's tail padding after blocking, spelled out so the managed size is C's 24 bytes.
    private readonly int _padding;

    /// <summary>A configuration for a nonblocking communicator (<c>blocking = 0</c>).</summary>
    public static NcclConfig Nonblocking() => new()
    {
        StructSize = (nuint)Unsafe.SizeOf<NcclConfig>(),
        Magic = ConfigMagic,
        Version = ConfigVersion,
        Blocking = 0,
    };
}

/// <summary><c>ncclResult_t</c> (<c>nccl.h</c>).</summary>
public enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,

    /// <summary>A nonblocking communicator's call has not finished: poll <c>ncclCommGetAsyncError</c>.</summary>
    InProgress = 7,
}

/// <summary><c>ncclDataType_t</c> (<c>nccl.h</c>); the FP8 types are left out, no tensor here holds them.</summary>
public enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
}

/// <summary><c>ncclRedOp_t</c> (<c>nccl.h</c>); values from 5 up are user operations.</summary>
public enum NcclRedOp
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,

    /// <summary>The sum divided by the number of ranks (since NCCL 2.10).</summary>
    Avg = 4,
}
