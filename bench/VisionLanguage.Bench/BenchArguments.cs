using VisionLanguage.Models.Blip;

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

    /// <summary>The <c>--preset</c> (tiny by default) if there is such a preset; otherwise says which there are and returns null.</summary>
    public static async Task<string?> PresetAsync(Dictionary<string, string> arguments)
    {
        var preset = arguments.GetValueOrDefault("preset", "tiny");
        if (BlipPresets.Names.Contains(preset))
        {
            return preset;
        }

        await Console.Error.WriteLineAsync($"unknown preset '{preset}'; use one of: {string.Join(", ", BlipPresets.Names)}");
        return null;
    }
}
