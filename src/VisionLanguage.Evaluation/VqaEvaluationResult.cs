using System.Text;

namespace VisionLanguage.Evaluation;

/// <summary>One scored question: its ground truth, the predicted answer as given, and its accuracy in [0, 1].</summary>
public sealed record VqaQuestionScore(VqaGroundTruth Question, string Prediction, double Accuracy);

/// <summary>VQA accuracy on an evaluation split, as fractions in [0, 1] (the official evaluation prints them × 100).</summary>
/// <param name="Questions">Questions scored.</param>
/// <param name="Accuracy">The mean of the questions' accuracies.</param>
/// <param name="PerQuestionType">The mean per question type, for questions that have one.</param>
/// <param name="PerAnswerType">The mean per answer type, for questions that have one.</param>
/// <param name="PerQuestion">Every question's score, in the order given.</param>
public sealed record VqaEvaluationResult(
    int Questions,
    double Accuracy,
    IReadOnlyDictionary<string, double> PerQuestionType,
    IReadOnlyDictionary<string, double> PerAnswerType,
    IReadOnlyList<VqaQuestionScore> PerQuestion)
{
    /// <summary>
    /// The stage metrics: <c>eval_vqa_accuracy</c>, <c>eval_questions</c>, and <c>eval_vqa_accuracy_TYPE</c> per question
    /// type, the type lower-cased with every run of other characters than a-z and 0-9 as one underscore
    /// ("what color is the" → <c>eval_vqa_accuracy_what_color_is_the</c>; synthetic: <c>_colour</c>, <c>_shape</c>,
    /// <c>_count</c>, <c>_position</c>).
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["eval_vqa_accuracy"] = Accuracy,
            ["eval_questions"] = Questions,
        };
        foreach (var (type, accuracy) in PerQuestionType)
        {
            metrics[$"eval_vqa_accuracy_{MetricName(type)}"] = accuracy;
        }

        return metrics;
    }

    private static string MetricName(string type)
    {
        var name = new StringBuilder();
        foreach (var character in type.ToLowerInvariant())
        {
            if (character is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                name.Append(character);
            }
            else if (name.Length > 0 && name[^1] != '_')
            {
                name.Append('_');
            }
        }

        return name.ToString().TrimEnd('_');
    }
}
