namespace VisionLanguage.Evaluation;

/// <summary>
/// A question as the VQA evaluation scores it: its id, the annotators' answers (ten in VQAv2), and optionally its
/// question type and answer type for the breakdowns (VQAv2's <c>question_type</c>, e.g. "what color is the", and
/// <c>answer_type</c>: "yes/no", "number" or "other"; the synthetic dataset's types are colour, shape, count and position).
/// </summary>
public sealed record VqaGroundTruth(long QuestionId, IReadOnlyList<string> Answers, string? QuestionType = null, string? AnswerType = null);

/// <summary>
/// VQA accuracy as the official evaluation computes it (GT-Vision-Lab/VQA <c>vqaEval.py</c>, latest version; see
/// <see cref="VqaAnswerNormalization"/>). Per question: the answers and the prediction are cleaned (newlines, tabs, outer
/// white space); when the annotators' answers are not all the same string, all of them and the prediction are also
/// normalised (punctuation, number words, articles, contractions), while unanimous annotators are compared as written;
/// then for each annotator i the prediction scores min(1, m_i / 3), m_i being the number of the other annotators whose
/// answer equals it, and the question's accuracy is the mean of those scores (over the ten leave-one-out subsets in
/// VQAv2). A split's accuracy is the mean over its questions. Figures here are fractions in [0, 1]; the official code
/// reports them × 100, rounded to two decimals.
/// </summary>
public static class VqaAccuracy
{
    /// <summary>Matches among the other annotators that make a prediction fully right.</summary>
    private const double FullMatches = 3.0;

    /// <summary>The accuracy of <paramref name="prediction"/> for one question answered <paramref name="answers"/>, in [0, 1].</summary>
    public static double Question(string prediction, IReadOnlyList<string> answers)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (answers.Count == 0)
        {
            throw new ArgumentException("a question needs at least one annotator answer to be scored (VQAv2 has ten)", nameof(answers));
        }

        var truths = answers.Select(VqaAnswerNormalization.Clean).ToArray();
        var predicted = VqaAnswerNormalization.Clean(prediction);
        if (truths.Distinct(StringComparer.Ordinal).Skip(1).Any())
        {
            truths = [.. truths.Select(truth => VqaAnswerNormalization.ProcessDigitArticle(VqaAnswerNormalization.ProcessPunctuation(truth)))];
            predicted = VqaAnswerNormalization.ProcessDigitArticle(VqaAnswerNormalization.ProcessPunctuation(predicted));
        }

        var matches = truths.Count(truth => string.Equals(truth, predicted, StringComparison.Ordinal));

        // Summed in annotator order and divided once, as the official code does, so the float result is the same.
        var sum = 0.0;
        foreach (var truth in truths)
        {
            var others = matches - (string.Equals(truth, predicted, StringComparison.Ordinal) ? 1 : 0);
            sum += Math.Min(1.0, others / FullMatches);
        }

        return sum / truths.Length;
    }

    /// <summary>
    /// Scores <paramref name="predictions"/>[i] against <paramref name="questions"/>[i] for every question: the overall
    /// accuracy, the accuracy per question type and per answer type (questions without one are in no breakdown), and
    /// each question's accuracy.
    /// </summary>
    public static VqaEvaluationResult Evaluate(IReadOnlyList<VqaGroundTruth> questions, IReadOnlyList<string> predictions)
    {
        if (questions.Count != predictions.Count)
        {
            throw new ArgumentException($"{predictions.Count} predicted answers for {questions.Count} questions; give one answer per question");
        }

        if (questions.Count == 0)
        {
            throw new ArgumentException("no questions to score; the evaluation split is empty");
        }

        var duplicate = questions.GroupBy(question => question.QuestionId).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"question id {duplicate.Key} occurs {duplicate.Count()} times; question ids must be unique within an evaluated split");
        }

        var perQuestion = questions.Select((question, i) => new VqaQuestionScore(question, predictions[i], Question(predictions[i], question.Answers))).ToList();
        return new VqaEvaluationResult(
            perQuestion.Count,
            Mean(perQuestion),
            Breakdown(perQuestion, score => score.Question.QuestionType),
            Breakdown(perQuestion, score => score.Question.AnswerType),
            perQuestion);
    }

    private static Dictionary<string, double> Breakdown(List<VqaQuestionScore> scores, Func<VqaQuestionScore, string?> key) =>
        scores.Where(score => key(score) is not null)
            .GroupBy(score => key(score)!, StringComparer.Ordinal)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => Mean([.. group]), StringComparer.Ordinal);

    private static double Mean(IReadOnlyList<VqaQuestionScore> scores)
    {
        var sum = 0.0;
        foreach (var score in scores)
        {
            sum += score.Accuracy;
        }

        return sum / scores.Count;
    }
}
