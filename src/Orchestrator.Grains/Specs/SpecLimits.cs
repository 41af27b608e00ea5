using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// What reading one submitted spec may cost, bounded before anything is expanded or converted, so that a small
/// hostile body (a "billion laughs" of nested YAML aliases, deep nesting, a huge value) is refused for the price of
/// reading it rather than of what it would expand to. Bound from <c>SpecLimits</c>, e.g. <c>--SpecLimits:MaxNodes=200000</c>.
/// </summary>
public sealed record SpecLimits
{
    public const string Section = "SpecLimits";

    /// <summary>The limits a host has when nothing is configured.</summary>
    public static SpecLimits Default { get; } = new();

    /// <summary>
    /// The longest spec, in bytes of UTF-8 text (1 MiB: the long CapFilt example is under 4 KiB). It also bounds the
    /// text aliases may expand to, so a spec never stands for more text than could have been sent written out.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "SpecLimits:MaxBytes must be from 1024 to 67108864 (64 MiB), e.g. 1048576")]
    public int MaxBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// The most nodes (mappings, lists, keys and values) a spec may hold after alias expansion. A 500-stage spec with a
    /// dozen options per stage has about 20,000; a 9-by-9 alias bomb would have 387 million.
    /// </summary>
    [Range(16, 10_000_000, ErrorMessage = "SpecLimits:MaxNodes must be from 16 to 10000000, e.g. 100000")]
    public int MaxNodes { get; init; } = 100_000;

    /// <summary>
    /// How deep lists and mappings may nest (the top-level mapping is depth 1, a stage's options mapping depth 4), as
    /// System.Text.Json counts depth. The ceiling is that library's own default: the passes over the tree after
    /// reading (copies, serialisation) recurse, and no spec needs more than a handful of levels.
    /// </summary>
    [Range(4, 64, ErrorMessage = "SpecLimits:MaxDepth must be from 4 to 64, e.g. 64")]
    public int MaxDepth { get; init; } = 64;

    /// <summary>The longest single value or key, in characters (64 KiB: a stage option is a word or a path).</summary>
    [Range(16, 64 * 1024 * 1024, ErrorMessage = "SpecLimits:MaxScalarLength must be from 16 to 67108864, e.g. 65536")]
    public int MaxScalarLength { get; init; } = 64 * 1024;

    /// <summary>The configuration key of one of these settings, as errors name it, e.g. <c>SpecLimits:MaxNodes</c>.</summary>
    public static string Setting(string property) => $"{Section}:{property}";
}
