using System.Diagnostics;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>The achievable fp32 rate of this machine's CPU, which the training benches' model FLOP utilisation is measured against.</summary>
internal static class MatmulPeak
{
    /// <summary>The side of the square matrices multiplied.</summary>
    public const int Side = 2048;

    /// <summary>The best of a few <see cref="Side"/>² fp32 matmuls, in FLOP/s.</summary>
    public static double Measure()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(Side, Side);
        var b = randn(Side, Side);
        a.matmul(b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var started = Stopwatch.GetTimestamp();
            a.matmul(b).Dispose();
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        return 2.0 * Side * Side * Side / best;
    }
}
