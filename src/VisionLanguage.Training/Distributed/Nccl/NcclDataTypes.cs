using TorchSharp;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>Which <see cref="NcclDataType"/> carries a tensor of each TorchSharp <see cref="torch.ScalarType"/>.</summary>
public static class NcclDataTypes
{
    /// <summary>The NCCL type of <paramref name="scalarType"/>; throws for a dtype NCCL cannot reduce.</summary>
    public static NcclDataType For(torch.ScalarType scalarType) => scalarType switch
    {
        torch.ScalarType.Float32 => NcclDataType.Float32,
        torch.ScalarType.Float16 => NcclDataType.Float16,
        torch.ScalarType.BFloat16 => NcclDataType.Bfloat16,
        torch.ScalarType.Float64 => NcclDataType.Float64,
        torch.ScalarType.Int32 => NcclDataType.Int32,
        torch.ScalarType.Int64 => NcclDataType.Int64,
        torch.ScalarType.Byte => NcclDataType.Uint8,
        torch.ScalarType.Int8 => NcclDataType.Int8,
        _ => throw new NotSupportedException(
            $"a tensor of dtype {scalarType} cannot go through NCCL, which takes Float32, Float16, BFloat16, Float64, Int32, Int64, " +
            "Byte and Int8 tensors: convert it to one of those first (a Bool flag to Int32, say)"),
    };
}
