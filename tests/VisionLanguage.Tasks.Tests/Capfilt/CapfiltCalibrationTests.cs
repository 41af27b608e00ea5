using VisionLanguage.Tasks.Capfilt;

namespace VisionLanguage.Tasks.Tests.Capfilt;

public sealed class CapfiltCalibrationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("calibration-").FullName;

    [Fact]
    public void The_threshold_is_the_score_below_which_the_share_of_clean_pairs_falls()
    {
        double[] scores = [0.9, 0.1, 0.5, 0.3, 0.7];

        // In order 0.1, 0.3, 0.5, 0.7, 0.9. Share 0.2 of 5 rejects ⌊1.0⌋ = 1 pair: the threshold is the 2nd score, 0.3,
        // and only 0.1 falls below it.
        Assert.Equal(0.3, CapfiltCalibration.Threshold(scores, 0.2));
        Assert.Equal(0.2, CapfiltCalibration.RejectedShare(scores, 0.3));
        // Share 0.5 of 5 is 2.5 pairs: ⌊2.5⌋ = 2 are rejected (0.1 and 0.3), so at most the share, never more.
        Assert.Equal(0.5, CapfiltCalibration.Threshold(scores, 0.5));
        Assert.Equal(0.4, CapfiltCalibration.RejectedShare(scores, 0.5));
        // Share 0 keeps every clean pair: the threshold is the lowest score, and nothing is below it.
        Assert.Equal(0.1, CapfiltCalibration.Threshold(scores, 0.0));
        Assert.Equal(0.0, CapfiltCalibration.RejectedShare(scores, 0.1));
    }

    [Fact]
    public void A_share_written_in_decimals_rejects_as_many_pairs_as_written()
    {
        // 0.29 × 100 is 28.999999999999996 in binary; 29 pairs are meant, so the threshold is the 30th score, 0.29.
        var scores = Enumerable.Range(0, 100).Select(i => i / 100.0).ToList();

        Assert.Equal(0.29, CapfiltCalibration.Threshold(scores, 0.29));
        Assert.Equal(0.29, CapfiltCalibration.RejectedShare(scores, 0.29));
    }

    [Fact]
    public void Scores_tied_with_the_threshold_are_kept_so_fewer_pairs_are_rejected()
    {
        double[] scores = [0.2, 0.8, 0.2, 0.2];

        // Share 0.5 of 4: the 3rd score in order (0.2, 0.2, 0.2, 0.8) is 0.2, which no score is below.
        Assert.Equal(0.2, CapfiltCalibration.Threshold(scores, 0.5));
        Assert.Equal(0.0, CapfiltCalibration.RejectedShare(scores, 0.2));
    }

    [Fact]
    public void No_calibration_pairs_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidDataException>(() => CapfiltCalibration.Threshold([], 0.1));
        Assert.Contains("the calibration dataset holds no image-caption pairs", error.Message);
    }

    [Fact]
    public void Scores_are_written_and_read_back_and_a_folder_without_them_has_none()
    {
        CalibrationScore[] scores = [new("images/0.png", "a red circle", 0.75), new("images/1.png", "two blue stars", 0.125)];

        Assert.Null(CapfiltCalibration.Read(_folder, "input 'scores'"));
        CapfiltCalibration.Write(Path.Combine(_folder, CapfiltCalibration.FileName), scores);
        Assert.Equal(scores, CapfiltCalibration.Read(_folder, "input 'scores'"));
    }

    [Theory]
    [InlineData("{}", "is not a list of")]
    [InlineData("[]", "must be a non-empty list of pairs")]
    [InlineData("""[{"image":"images/0.png","caption":"a red circle","score":1.5}]""", "each with a score in [0, 1]")]
    public void A_malformed_scores_file_names_the_input_and_the_fix(string text, string message)
    {
        File.WriteAllText(Path.Combine(_folder, CapfiltCalibration.FileName), text);

        var error = Assert.Throws<InvalidDataException>(() => CapfiltCalibration.Read(_folder, "input 'scores'"));
        Assert.StartsWith($"input 'scores': {CapfiltCalibration.FileName}", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Contains("bind the 'scores' output of a blip.capfilt stage", error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
