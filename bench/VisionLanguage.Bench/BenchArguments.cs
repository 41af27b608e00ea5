using Orchestrator.Contracts.Catalog;

namespace VisionLanguage.Bench;

/// <summary>The benches' command line: <c>--name value</c> pairs, and the preset they measure.</summary>
internal static class BenchArguments
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length - 1; i += 2)
        {
            parsed[args[i].TrimStart('-')] = args[i + 1];
        }

        return parsed;
    }

    /// <summary>The <c>--preset</c> (tiny by default) if <c>blip.pretrain</c> has it; otherwise says which it has and returns null.</summary>
    public static async Task<string?> PresetAsync(Dictionary<string, string> arguments)
    {
        var preset = arguments.GetValueOrDefault("preset", "tiny");
        var kind = StageKindCatalog.Find("blip.pretrain")!;
        if (kind.Presets.ContainsKey(preset))
        {
            return preset;
        }

        await Console.Error.WriteLineAsync($"unknown preset '{preset}'; use one of: {string.Join(", ", kind.Presets.Keys)}");
        return null;
    }
}
