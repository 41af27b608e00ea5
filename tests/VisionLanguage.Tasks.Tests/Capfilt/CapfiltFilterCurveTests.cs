using System.Text.Json;
using VisionLanguage.Tasks.Capfilt;

namespace VisionLanguage.Tasks.Tests.Capfilt;

public sealed class CapfiltFilterCurveTests
{
    // Web scores 0.90 (clean), 0.20 (colour), 0.60 (count), 0.40 (clean); the synthetic captions never count.
    private static readonly CapfiltCandidate[] Candidates =
    [
        new("images/0.png", "a red circle", CaptionSource.Web, 0.90),
        new("images/0.png", "a red circle", CaptionSource.Synthetic, 0.05),
        new("images/1.png", "a blue square", CaptionSource.Web, 0.20),
        new("images/2.png", "two yellow stars", CaptionSource.Web, 0.60),
        new("images/3.png", "a black cross", CaptionSource.Web, 0.40),
    ];

    private static readonly CorruptedCaptions Corrupted = new([("images/1.png", "a blue square", "colour"), ("images/2.png", "two yellow stars", "count")]);

    [Fact]
    public void The_grid_runs_from_005_to_095_in_steps_of_005()
    {
        Assert.Equal(19, CapfiltFilterCurve.Thresholds.Count);
        Assert.Equal(0.05, CapfiltFilterCurve.Thresholds[0]);
        Assert.Equal(0.5, CapfiltFilterCurve.Thresholds[9]);
        Assert.Equal(0.95, CapfiltFilterCurve.Thresholds[^1]);
    }

    [Fact]
    public void Each_threshold_flags_the_web_captions_below_it()
    {
        var curve = CapfiltFilterCurve.Compute(Candidates, Corrupted, [0.1, 0.3, 0.5, 0.65, 0.95]);

        // 0.1: nothing flagged, so precision is undefined and recall 0/2.
        Assert.Equal((0, 0, 2), (curve[0].Flagged, curve[0].FlaggedCorrupted, curve[0].Corrupted));
        Assert.Null(curve[0].Precision);
        Assert.Equal(0.0, curve[0].Recall);
        // 0.3: 0.20 (colour) → precision 1/1, recall 1/2; colour found, count not.
        Assert.Equal((1.0, 0.5), (curve[1].Precision, curve[1].Recall));
        Assert.Equal(new Dictionary<string, double> { ["colour"] = 1.0, ["count"] = 0.0 }, curve[1].RecallByKind);
        // 0.5: 0.20 and 0.40 (clean) → precision 1/2, recall 1/2.
        Assert.Equal((0.5, 0.5), (curve[2].Precision, curve[2].Recall));
        // 0.65: 0.20, 0.40, 0.60 → precision 2/3, recall 2/2; both kinds found.
        Assert.Equal((2.0 / 3.0, 1.0), (curve[3].Precision, curve[3].Recall));
        Assert.Equal(new Dictionary<string, double> { ["colour"] = 1.0, ["count"] = 1.0 }, curve[3].RecallByKind);
        // 0.95: every web caption → precision 2/4, recall 2/2.
        Assert.Equal((4, 0.5, 1.0), (curve[4].Flagged, curve[4].Precision, curve[4].Recall));
    }

    [Fact]
    public void The_file_lists_every_threshold_with_its_counts_precision_and_recall()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("curve-").FullName, CapfiltFilterCurve.FileName);

        CapfiltFilterCurve.Write(path, CapfiltFilterCurve.Compute(Candidates, Corrupted, [0.1, 0.3]));

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var points = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, points.Count);
        Assert.Equal(0.3, points[1].GetProperty("threshold").GetDouble());
        Assert.Equal(1, points[1].GetProperty("flagged").GetInt32());
        Assert.Equal(1, points[1].GetProperty("flagged_corrupted").GetInt32());
        Assert.Equal(2, points[1].GetProperty("corrupted").GetInt32());
        Assert.Equal(1.0, points[1].GetProperty("precision").GetDouble());
        Assert.Equal(0.5, points[1].GetProperty("recall").GetDouble());
        Assert.Equal(1.0, points[1].GetProperty("recall_by_kind").GetProperty("colour").GetDouble());
        Assert.Equal(JsonValueKind.Null, points[0].GetProperty("precision").ValueKind);
    }

    [Fact]
    public void The_log_line_gives_precision_and_recall_at_each_threshold()
    {
        var line = CapfiltFilterCurve.Describe(CapfiltFilterCurve.Compute(Candidates, Corrupted, [0.1, 0.65]));

        Assert.Equal("0.10 –/0.00, 0.65 0.67/1.00", line);
    }
}
