namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// How well the filter finds corrupted web captions at one threshold, a web caption scoring below it counting as
/// flagged: how many were flagged, how many of those were corrupted, and how many were corrupted in all. Precision is
/// null when nothing was flagged, recall when nothing was corrupted: neither is defined then. Recall by kind covers
/// the corruptions whose kind the record names.
/// </summary>
public sealed record FilterOutcome(double Threshold, int Flagged, int FlaggedCorrupted, int Corrupted, IReadOnlyDictionary<string, double> RecallByKind)
{
    public double? Precision => Flagged > 0 ? (double)FlaggedCorrupted / Flagged : null;

    public double? Recall => Corrupted > 0 ? (double)FlaggedCorrupted / Corrupted : null;
}
