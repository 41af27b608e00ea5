using System.Globalization;

namespace VisionLanguage.Bench;

/// <summary>What Linux's <c>/proc</c> says of this process and of the machine's load.</summary>
internal static class ProcReadings
{
    /// <summary>This process's peak resident set so far (<c>VmHWM</c> of <c>/proc/self/status</c>), in bytes.</summary>
    public static long PeakResidentBytes()
    {
        const string Status = "/proc/self/status";
        var line = File.Exists(Status) ? File.ReadLines(Status).FirstOrDefault(line => line.StartsWith("VmHWM:", StringComparison.Ordinal)) : null;
        if (line is null)
        {
            throw new PlatformNotSupportedException($"{Status} has no VmHWM line: the peak resident set is read from Linux's /proc; run the bench on Linux");
        }

        // "VmHWM:	  123456 kB"
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>The machine's one-minute load average (<c>/proc/loadavg</c>), or null where there is none.</summary>
    public static double? LoadAverage()
    {
        const string LoadAverageFile = "/proc/loadavg";
        return File.Exists(LoadAverageFile)
            ? double.Parse(File.ReadAllText(LoadAverageFile).Split(' ')[0], CultureInfo.InvariantCulture)
            : null;
    }
}
