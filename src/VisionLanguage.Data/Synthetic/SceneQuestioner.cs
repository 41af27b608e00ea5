using static VisionLanguage.Data.Synthetic.SceneWords;

namespace VisionLanguage.Data.Synthetic;

/// <summary>What a synthetic VQA question asks about; its name, lower-cased, is the question's <c>question_type</c>.</summary>
public enum VqaQuestionKind
{
    Colour,
    Shape,
    Count,
    Position,
}

/// <summary>
/// A question about a scene: its kind, its text, the true answer, and the near answers an annotator who disagrees gives
/// instead (a neighbouring colour, a similar shape, the count ± 1 or the count as a word, a neighbouring place; some,
/// like "two" for "2" or "a circle" for "circle", are the true answer once the VQA evaluation normalises them).
/// </summary>
public sealed record SceneQuestion(VqaQuestionKind Kind, string Question, string Answer, IReadOnlyList<string> NearAnswers)
{
    /// <summary>VQAv2's answer type: <c>number</c> for counts, <c>other</c> for the rest.</summary>
    public string AnswerType => Kind == VqaQuestionKind.Count ? "number" : "other";
}

/// <summary>
/// Asks questions about synthetic scenes, using only what the scene model knows, and only questions with one right
/// answer whatever else is drawn: "what color is the circle?" only when every drawn circle (distractors included) has
/// that colour, "what shape is the red object?" only when every red shape is of that shape; "how many red circles are
/// there?" always (distractors never share a described object's colour and shape); "where is the red circle?" for a lone
/// object (left, right, top, bottom, center) and "is the red circle left or right of the blue square?" (or "above or
/// below") for a pair. A group of identical objects has no position question.
/// </summary>
public static class SceneQuestioner
{
    /// <summary>Every true answer a question can have, sorted: the candidate answers of a synthetic dataset.</summary>
    public static IReadOnlyList<string> AnswerList { get; } = [.. Enum.GetValues<ShapeColour>().Select(colour => Word(colour))
        .Concat(Enum.GetValues<ShapeKind>().Select(shape => Word(shape)))
        .Concat(Enumerable.Range(1, 4).Select(count => count.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        .Concat(Enum.GetValues<Placement>().Select(PlaceWord))
        .Concat(["above", "below"])
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Up to <paramref name="count"/> questions of different kinds about <paramref name="scene"/>: the kinds in a random
    /// order, each asked about one of its possible subjects, kinds with none skipped.
    /// </summary>
    public static IReadOnlyList<SceneQuestion> Ask(Scene scene, int count, DataRandom random)
    {
        var kinds = Enum.GetValues<VqaQuestionKind>();
        random.Shuffle(kinds.AsSpan());
        var questions = new List<SceneQuestion>(count);
        foreach (var kind in kinds)
        {
            if (questions.Count == count)
            {
                break;
            }

            var askable = Askable(scene, kind);
            if (askable.Count > 0)
            {
                questions.Add(random.Pick(askable));
            }
        }

        return questions;
    }

    /// <summary>Every question of <paramref name="kind"/> with one right answer in <paramref name="scene"/>, one per subject.</summary>
    public static IReadOnlyList<SceneQuestion> Askable(Scene scene, VqaQuestionKind kind)
    {
        var description = scene.Description;
        var group = description.Layout == SceneLayout.Group;
        ObjectSpec[] subjects = description.Second is { } second ? [description.First, second] : [description.First];
        var drawn = scene.Objects.Concat(scene.Distractors).ToList();
        switch (kind)
        {
            case VqaQuestionKind.Colour:
                return [.. subjects
                    .Where(subject => drawn.Where(shape => shape.Shape == subject.Shape).All(shape => shape.Colour == subject.Colour))
                    .Select(subject => new SceneQuestion(kind,
                        group ? $"what color are the {Word(subject.Shape, plural: true)}?" : $"what color is the {Word(subject.Shape)}?",
                        Word(subject.Colour), NearColours(subject.Colour)))];
            case VqaQuestionKind.Shape:
                return [.. subjects
                    .Where(subject => drawn.Where(shape => shape.Colour == subject.Colour).All(shape => shape.Shape == subject.Shape))
                    .Select(subject => new SceneQuestion(kind,
                        group ? $"what shape are the {Word(subject.Colour)} objects?" : $"what shape is the {Word(subject.Colour)} object?",
                        Word(subject.Shape), [$"{Article(Word(subject.Shape))} {Word(subject.Shape)}", Word(SimilarShape(subject.Shape))]))];
            case VqaQuestionKind.Count:
                return [.. subjects.Select(subject =>
                {
                    var number = drawn.Count(shape => shape.Shape == subject.Shape && shape.Colour == subject.Colour);
                    return new SceneQuestion(kind, $"how many {Word(subject.Colour)} {Word(subject.Shape, plural: true)} are there?", Digits(number), NearCounts(number));
                })];
            default:
                return description switch
                {
                    { Layout: SceneLayout.Single, Placement: { } placement } =>
                        [new SceneQuestion(kind, $"where is the {Name(description.First)}?", PlaceWord(placement), NearPlaces(placement))],
                    { Layout: SceneLayout.Pair, Second: { } other, Relation: { } relation } =>
                        [RelationQuestion(description.First, other, relation), RelationQuestion(other, description.First, Inverse(relation))],
                    _ => [],
                };
        }
    }

    /// <summary>"is the A left or right of the B?" (or "above or below"), answered "left", "right", "above" or "below".</summary>
    private static SceneQuestion RelationQuestion(ObjectSpec subject, ObjectSpec reference, Relation relation)
    {
        var (options, answer, other) = relation switch
        {
            Relation.LeftOf => ("left or right of", "left", "right"),
            Relation.RightOf => ("left or right of", "right", "left"),
            Relation.Above => ("above or below", "above", "below"),
            _ => ("above or below", "below", "above"),
        };
        return new SceneQuestion(VqaQuestionKind.Position, $"is the {Name(subject)} {options} the {Name(reference)}?", answer, [other]);
    }

    private static string Name(ObjectSpec spec) => $"{Word(spec.Colour)} {Word(spec.Shape)}";

    private static string Digits(int number) => number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The count as a word (the same answer once normalised), one more, and one less when that is still 1 or more.</summary>
    private static string[] NearCounts(int count) =>
        count > 1 ? [Number(count), Digits(count - 1), Digits(count + 1)] : [Number(count), Digits(count + 1)];

    /// <summary>The neighbours on the hue circle red, orange, yellow, green, cyan, blue, purple, pink; white and black: gray.</summary>
    private static string[] NearColours(ShapeColour colour) => colour switch
    {
        ShapeColour.Red => ["orange", "pink"],
        ShapeColour.Orange => ["red", "yellow"],
        ShapeColour.Yellow => ["orange", "green"],
        ShapeColour.Green => ["yellow", "cyan"],
        ShapeColour.Cyan => ["green", "blue"],
        ShapeColour.Blue => ["cyan", "purple"],
        ShapeColour.Purple => ["blue", "pink"],
        ShapeColour.Pink => ["purple", "red"],
        _ => ["gray"],
    };

    /// <summary>The shape most like each one at a glance.</summary>
    private static ShapeKind SimilarShape(ShapeKind shape) => shape switch
    {
        ShapeKind.Circle => ShapeKind.Hexagon,
        ShapeKind.Hexagon => ShapeKind.Circle,
        ShapeKind.Square => ShapeKind.Diamond,
        ShapeKind.Diamond => ShapeKind.Square,
        ShapeKind.Star => ShapeKind.Cross,
        ShapeKind.Cross => ShapeKind.Star,
        ShapeKind.Triangle => ShapeKind.Heart,
        _ => ShapeKind.Triangle,
    };

    /// <summary>"the left" (the same once normalised), and the center for a side, or any side for the center.</summary>
    private static string[] NearPlaces(Placement placement) => placement == Placement.Center
        ? ["the center", "left", "right", "top", "bottom"]
        : [$"the {PlaceWord(placement)}", "center"];

    private static string PlaceWord(Placement placement) => placement.ToString().ToLowerInvariant();
}
