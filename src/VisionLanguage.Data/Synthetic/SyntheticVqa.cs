namespace VisionLanguage.Data.Synthetic;

/// <summary>
/// A VQA question of a synthetic split: its id, its image, what it asks, the true answer and the ten annotators'
/// answers, each the true answer or one of the question's near answers.
/// </summary>
public sealed record SyntheticQuestion(long QuestionId, string Image, VqaQuestionKind Kind, string Question, string Answer, IReadOnlyList<string> Answers)
{
    /// <summary>The question type written with the question: colour, shape, count or position.</summary>
    public string QuestionType => Kind.ToString().ToLowerInvariant();

    /// <summary>VQAv2's answer type: number for counts, other for the rest.</summary>
    public string AnswerType => Kind == VqaQuestionKind.Count ? "number" : "other";

    public VqaAnnotationEntry ToEntry() => new(QuestionId, Question, Answers, Image) { QuestionType = QuestionType, AnswerType = AnswerType };
}

/// <summary>
/// Plans the VQA questions of a synthetic split: <see cref="SyntheticDatasetSettings.VqaQuestions"/> questions of
/// different kinds per image (fewer where the scene has no unambiguous question of a kind; see
/// <see cref="SceneQuestioner"/>), each with <see cref="Annotators"/> answers of which exactly
/// round(answers × <see cref="SyntheticDatasetSettings.VqaDisagreement"/>) over the whole split are near answers, on
/// slots drawn uniformly at random (so questions differ in how many annotators disagree, as in VQAv2); the rest are the
/// true answer. Every draw comes from its own stream of (seed, split, purpose[, index]), so the questions depend on the
/// seed alone and never disturb the scenes or captions.
/// </summary>
internal static class SyntheticVqa
{
    /// <summary>Answers per question, as in VQAv2.</summary>
    public const int Annotators = 10;

    private const long QuestionStream = 0x56514153;  // "VQAS"
    private const long AgreementStream = 0x56514144; // "VQAD"
    private const long NearStream = 0x5651414e;      // "VQAN"

    /// <summary>Question ids are split stream × this + image index × 10 + question number: unique across a dataset's splits.</summary>
    private const long SplitIdStride = 10_000_000_000;

    /// <summary>The number of near answers among <paramref name="answers"/> for <paramref name="disagreement"/>: round half away from zero.</summary>
    public static int NearAnswerCount(int answers, double disagreement) => (int)Math.Round(answers * disagreement, MidpointRounding.AwayFromZero);

    public static List<SyntheticItem> Ask(List<SyntheticItem> items, long stream, SyntheticDatasetSettings settings)
    {
        if (settings.VqaQuestions == 0)
        {
            return items;
        }

        var asked = items.Select(item => SceneQuestioner.Ask(item.Scene, settings.VqaQuestions, DataRandom.For(settings.Seed, stream, QuestionStream, item.Index))).ToList();
        var remaining = asked.Sum(questions => questions.Count) * Annotators;
        var needed = NearAnswerCount(remaining, settings.VqaDisagreement);

        // Selection sampling (Knuth's algorithm S): exactly `needed` of the slots, each subset equally likely, in one pass.
        var select = DataRandom.For(settings.Seed, stream, AgreementStream);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var near = DataRandom.For(settings.Seed, stream, NearStream, item.Index);
            var questions = new List<SyntheticQuestion>(asked[i].Count);
            for (var q = 0; q < asked[i].Count; q++)
            {
                var question = asked[i][q];
                var answers = new string[Annotators];
                for (var a = 0; a < Annotators; a++)
                {
                    var disagrees = select.Next(remaining) < needed;
                    remaining--;
                    if (disagrees)
                    {
                        needed--;
                    }

                    answers[a] = disagrees ? near.Pick(question.NearAnswers) : question.Answer;
                }

                questions.Add(new SyntheticQuestion((stream * SplitIdStride) + (item.Index * 10L) + q, item.Image, question.Kind, question.Question, question.Answer, answers));
            }

            items[i] = item with { Questions = questions };
        }

        return items;
    }
}
