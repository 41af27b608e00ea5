using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VisionLanguage.Training.Distributed.Nccl;

namespace GpuCheck;

/// <summary>
/// Compares the values the NCCL backend hard-codes with an installation's <c>nccl.h</c> (pip's nvidia-nccl ships
/// <c>include/nccl.h</c> next to <c>lib/</c>): every enum member the project uses, the unique id's size, the config's
/// magic and the order of the config's first fields.
/// </summary>
internal static partial class NcclHeader
{
    /// <summary>The header beside the loaded library (<c>lib/../include/nccl.h</c>), or null when there is none.</summary>
    public static string? Locate(string? explicitPath, string? libraryPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return explicitPath;
        }

        if (string.IsNullOrEmpty(libraryPath))
        {
            return null;
        }

        var candidate = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(libraryPath)!, "..", "include", "nccl.h"));
        return File.Exists(candidate) ? candidate : null;
    }

    public static JsonObject Compare(string headerPath)
    {
        // Comments sit between the config's fields (and hold stray "name = value" text): drop them first.
        var text = Comment().Replace(File.ReadAllText(headerPath), " ");
        var defined = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Match match in EnumMember().Matches(text))
        {
            defined.TryAdd(match.Groups[1].Value, long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        var mismatches = new JsonArray();
        var compared = 0;
        void Expect(string name, long value)
        {
            compared++;
            if (!defined.TryGetValue(name, out var actual))
            {
                mismatches.Add($"{name}: not in the header (the project uses {value})");
            }
            else if (actual != value)
            {
                mismatches.Add($"{name}: header {actual}, project {value}");
            }
        }

        foreach (var result in Enum.GetValues<NcclResult>())
        {
            Expect($"nccl{result}", (long)result);
        }

        foreach (var type in Enum.GetValues<NcclDataType>())
        {
            Expect($"nccl{type}", (long)type);
        }

        foreach (var operation in Enum.GetValues<NcclRedOp>())
        {
            Expect($"nccl{operation}", (long)operation);
        }

        var uniqueIdBytes = UniqueIdBytes().Match(text);
        if (!uniqueIdBytes.Success || uniqueIdBytes.Groups[1].Value != NcclUniqueId.Size.ToString(CultureInfo.InvariantCulture))
        {
            mismatches.Add($"NCCL_UNIQUE_ID_BYTES: header {(uniqueIdBytes.Success ? uniqueIdBytes.Groups[1].Value : "absent")}, project {NcclUniqueId.Size}");
        }

        if (!text.Contains($"0x{NcclConfig.ConfigMagic:x}", StringComparison.OrdinalIgnoreCase))
        {
            mismatches.Add($"NCCL_CONFIG_INITIALIZER: magic 0x{NcclConfig.ConfigMagic:x} not found in the header");
        }

        var config = ConfigPrefix().Match(text);
        if (!config.Success)
        {
            mismatches.Add("ncclConfig_t: does not start with size_t size; unsigned int magic; unsigned int version; int blocking;");
        }

        var version = Version().Match(text);
        return new JsonObject
        {
            ["header"] = headerPath,
            ["headerVersion"] = version.Success ? $"{version.Groups[1].Value}.{version.Groups[2].Value}.{version.Groups[3].Value}" : null,
            ["enumMembersCompared"] = compared,
            ["configPrefixMatches"] = config.Success,
            ["mismatches"] = mismatches,
            ["matches"] = mismatches.Count == 0,
        };
    }

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\b(nccl[A-Za-z0-9]+)\s*=\s*(\d+)\b")]
    private static partial Regex EnumMember();

    [GeneratedRegex(@"#define\s+NCCL_UNIQUE_ID_BYTES\s+(\d+)")]
    private static partial Regex UniqueIdBytes();

    [GeneratedRegex(@"typedef\s+struct\s+ncclConfig_v\d+\s*\{\s*size_t\s+size;\s*unsigned\s+int\s+magic;\s*unsigned\s+int\s+version;\s*int\s+blocking;")]
    private static partial Regex ConfigPrefix();

    [GeneratedRegex(@"#define\s+NCCL_MAJOR\s+(\d+)\s*#define\s+NCCL_MINOR\s+(\d+)\s*#define\s+NCCL_PATCH\s+(\d+)")]
    private static partial Regex Version();
}
