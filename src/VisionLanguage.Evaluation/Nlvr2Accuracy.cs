namespace VisionLanguage.Evaluation;

/// <summary>NLVR2 accuracy on a split: the share of statements whose truth was predicted, overall and per statement kind.</summary>
/// <param name="Examples">Statements scored.</param>
/// <param name="Accuracy">Share predicted right, in [0, 1].</param>
/// <param name="PerKind">Accuracy per statement kind, for the examples that have one.</param>
public sealed record Nlvr2EvaluationResult(int Examples, double Accuracy, IReadOnlyDictionary<string, double> PerKind)
{
    /// <summary>The stage metrics: <c>eval_nlvr2_accuracy</c>, <c>eval_examples</c>, and <c>eval_nlvr2_accuracy_KIND</c> per kind.</summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["eval_nlvr2_accuracy"] = Accuracy,
            ["eval_examples"] = Examples,
        };
        foreach (var (kind, accuracy) in PerKind)
        {
            metrics[$"eval_nlvr2_accuracy_{kind}"] = accuracy;
        }

        return metrics;
    }
}

/// <summary>NLVR2 scoring (BLIP's <c>evaluate</c> in <c>train_nlvr.py</c>: accuracy of the argmax of the classifier), and its majority-class baseline.</summary>
public static class Nlvr2Accuracy
{
    /// <summary>Scores <paramref name="predictions"/>[i] against <paramref name="labels"/>[i]; <paramref name="kinds"/>, when given, breaks it down.</summary>
    public static Nlvr2EvaluationResult Evaluate(IReadOnlyList<bool> labels, IReadOnlyList<bool> predictions, IReadOnlyList<string?>? kinds = null)
    {
        if (labels.Count != predictions.Count || (kinds is not null && kinds.Count != labels.Count))
        {
            throw new ArgumentException($"{predictions.Count} predictions for {labels.Count} statements; give one per statement");
        }

        if (labels.Count == 0)
        {
            throw new ArgumentException("no statements to score; the evaluation split is empty");
        }

        var right = labels.Select((label, i) => label == predictions[i]).ToList();
        var perKind = kinds is null
            ? new Dictionary<string, double>(StringComparer.Ordinal)
            : Enumerable.Range(0, labels.Count).Where(i => kinds[i] is not null).GroupBy(i => kinds[i]!, StringComparer.Ordinal)
                .OrderBy(group => group.Key, StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.Average(i => right[i] ? 1.0 : 0.0), StringComparer.Ordinal);
        return new Nlvr2EvaluationResult(labels.Count, right.Average(hit => hit ? 1.0 : 0.0), perKind);
    }

    /// <summary>
    /// The majority-class baseline's answer: the label most of <paramref name="trainingLabels"/> have (true on a tie),
    /// which it predicts for every statement.
    /// </summary>
    public static bool MajorityClass(IEnumerable<bool> trainingLabels)
    {
        var (trues, all) = trainingLabels.Aggregate((0, 0), (counts, label) => (counts.Item1 + (label ? 1 : 0), counts.Item2 + 1));
        return 2 * trues >= all;
    }
}
