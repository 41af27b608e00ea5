namespace VisionLanguage.Evaluation;

/// <summary>
/// Answers that ignore the image, against which a VQA model is judged: the training split's majority answer for every
/// question, and the majority answer of the question's type (a prior that reads the question's kind, not the image).
/// An answer's weight is its share of its question's annotators (as BLIP trains on it), summed over the questions.
/// </summary>
public static class VqaBaselines
{
    /// <summary>The answer with the largest summed weight over <paramref name="trainingAnswers"/> (each question's answers); ordinal first on a tie.</summary>
    public static string MajorityAnswer(IEnumerable<IReadOnlyList<string>> trainingAnswers)
    {
        var weights = Weights(trainingAnswers);
        return weights.Count == 0
            ? throw new ArgumentException("no training answers to take a majority of")
            : weights.OrderByDescending(pair => pair.Value).ThenBy(pair => pair.Key, StringComparer.Ordinal).First().Key;
    }

    /// <summary>The majority answer of each question type among <paramref name="training"/> (questions without a type left out).</summary>
    public static IReadOnlyDictionary<string, string> MajorityAnswerPerType(IEnumerable<(string? QuestionType, IReadOnlyList<string> Answers)> training) =>
        training.Where(question => question.QuestionType is not null)
            .GroupBy(question => question.QuestionType!, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => MajorityAnswer(group.Select(question => question.Answers)), StringComparer.Ordinal);

    private static Dictionary<string, double> Weights(IEnumerable<IReadOnlyList<string>> answers)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var question in answers)
        {
            foreach (var answer in question)
            {
                weights[answer] = weights.GetValueOrDefault(answer) + (1.0 / question.Count);
            }
        }

        return weights;
    }
}
