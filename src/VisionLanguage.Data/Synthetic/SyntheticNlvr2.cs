using static VisionLanguage.Data.Synthetic.SceneWords;

namespace VisionLanguage.Data.Synthetic;

/// <summary>How a synthetic NLVR2 statement was made: true of its image, or false in one of two ways.</summary>
public enum Nlvr2StatementKind
{
    /// <summary>The named image holds exactly the stated number of objects of the stated colour and shape.</summary>
    True,

    /// <summary>A true statement about the other image of the pair, said of the named one, where it is false.</summary>
    OtherImage,

    /// <summary>A true statement of the named image with another colour, false of both images.</summary>
    WrongColour,

    /// <summary>A true statement of the named image with the count one off (only when neither of the others can be made).</summary>
    WrongCount,
}

/// <summary>
/// An NLVR2 example of a synthetic split: two of the split's images (left, right), a statement about one of them, and
/// whether it is true.
/// </summary>
public sealed record SyntheticNlvr2Pair(int Index, string LeftImage, string RightImage, string Sentence, bool Label, Nlvr2StatementKind Kind)
{
    /// <summary>The kind as the annotation writes it: true, other_image, wrong_colour or wrong_count.</summary>
    public string KindName => NameOf(Kind);

    /// <summary>A kind as annotations and metrics name it.</summary>
    public static string NameOf(Nlvr2StatementKind kind) => kind switch
    {
        Nlvr2StatementKind.True => "true",
        Nlvr2StatementKind.OtherImage => "other_image",
        Nlvr2StatementKind.WrongColour => "wrong_colour",
        _ => "wrong_count",
    };

    public Nlvr2AnnotationEntry ToEntry() => new([LeftImage, RightImage], Sentence, Nlvr2AnnotationEntry.LabelText(Label)) { Kind = KindName };
}

/// <summary>
/// Plans the NLVR2 examples of a synthetic split: <see cref="SyntheticDatasetSettings.Nlvr2Pairs"/> per image, each the
/// image and a partner drawn uniformly from the rest of its split, in a random order (left, right), with a statement
/// about the left or the right image (a fair coin): "in the left image there are two red circles". Exactly half of a split's
/// statements (rounded half away from zero) are true, on slots drawn uniformly (selection sampling). A true statement
/// names a described object of its image (colour and shape) and how many of that colour and shape are drawn there. A
/// false one is, a quarter of the time, a true statement about the other image said of the named one, where its count
/// differs (only the words "left" and "right" make it false: a model must tell the images apart), else the named image's
/// own statement with another colour, one that makes it false of both images (a model must see what the images hold);
/// when neither can be made, the named image's statement with its count one off. Colours and shapes are drawn
/// alike for true and false statements, so the text alone tells nothing. "left" and "right" only ever name images, never
/// places in an image, so swapping the images and those words keeps a statement as true as it was (BLIP's NLVR2
/// augmentation). Every draw has its own stream of (seed, split, purpose, image[, pair]).
/// </summary>
internal static class SyntheticNlvr2
{
    private const long PartnerStream = 0x4e4c5650;  // "NLVP"
    private const long LabelStream = 0x4e4c564c;    // "NLVL"
    private const long StatementStream = 0x4e4c5653; // "NLVS"

    /// <summary>The largest count a scene has of one colour and shape (a group has at most four).</summary>
    private const int MaxCount = 4;

    /// <summary>
    /// The share of false statements taken from the other image; the rest are recoloured. Grounding statements in their
    /// image is what a small model learns last (docs/decisions/blip-vqa-nlvr2.md), so they are a quarter, not half.
    /// </summary>
    private const double OtherImageShare = 0.25;

    public static IReadOnlyList<SyntheticNlvr2Pair> Pair(IReadOnlyList<SyntheticItem> items, long stream, SyntheticDatasetSettings settings)
    {
        if (settings.Nlvr2Pairs == 0 || items.Count < 2)
        {
            return [];
        }

        var remaining = items.Count * settings.Nlvr2Pairs;
        var needed = (int)Math.Round(remaining * 0.5, MidpointRounding.AwayFromZero);
        var labels = DataRandom.For(settings.Seed, stream, LabelStream);
        var pairs = new List<SyntheticNlvr2Pair>(remaining);
        foreach (var item in items)
        {
            for (var p = 0; p < settings.Nlvr2Pairs; p++)
            {
                var label = labels.Next(remaining) < needed;
                remaining--;
                if (label)
                {
                    needed--;
                }

                var random = DataRandom.For(settings.Seed, stream, PartnerStream, item.Index, p);
                var partner = random.Next(items.Count - 1);
                partner = partner >= item.Index ? partner + 1 : partner;
                var (left, right) = random.NextBool() ? (item, items[partner]) : (items[partner], item);
                var leftNamed = random.NextBool();
                var (named, other) = leftNamed ? (left, right) : (right, left);
                var statement = DataRandom.For(settings.Seed, stream, StatementStream, item.Index, p);
                var (subject, kind) = label ? (TrueOf(named.Scene, statement), Nlvr2StatementKind.True) : FalseOf(named.Scene, other.Scene, statement);
                pairs.Add(new SyntheticNlvr2Pair(pairs.Count, left.Image, right.Image, Sentence(leftNamed ? "left" : "right", subject), label, kind));
            }
        }

        return pairs;
    }

    /// <summary>How many drawn shapes (described or distractors) of <paramref name="scene"/> have this colour and shape.</summary>
    public static int Count(Scene scene, ShapeColour colour, ShapeKind shape) =>
        scene.Objects.Concat(scene.Distractors).Count(drawn => drawn.Colour == colour && drawn.Shape == shape);

    /// <summary>
    /// "in the left image there are two red circles", "in the right image there is an orange star": the named image, then
    /// the words the captions use for what it holds ("there is a …", "there are two …").
    /// </summary>
    public static string Sentence(string side, (ShapeColour Colour, ShapeKind Shape, int Count) subject)
    {
        var colour = Word(subject.Colour);
        return subject.Count == 1
            ? $"in the {side} image there is {Article(colour)} {colour} {Word(subject.Shape)}"
            : $"in the {side} image there are {Number(subject.Count)} {colour} {Word(subject.Shape, plural: true)}";
    }

    /// <summary>The true statements of a scene: each described object's colour and shape with its drawn count.</summary>
    private static List<(ShapeColour Colour, ShapeKind Shape, int Count)> Statements(Scene scene)
    {
        var description = scene.Description;
        ObjectSpec[] subjects = description.Second is { } second ? [description.First, second] : [description.First];
        return [.. subjects.Select(subject => (subject.Colour, subject.Shape, Count(scene, subject.Colour, subject.Shape))).Distinct()];
    }

    private static (ShapeColour, ShapeKind, int) TrueOf(Scene named, DataRandom random) => random.Pick(Statements(named));

    private static ((ShapeColour, ShapeKind, int) Subject, Nlvr2StatementKind Kind) FalseOf(Scene named, Scene other, DataRandom random)
    {
        var borrowed = Statements(other).Where(statement => Count(named, statement.Colour, statement.Shape) != statement.Count).ToList();
        var (colour, shape, count) = random.Pick(Statements(named));
        var recoloured = Enum.GetValues<ShapeColour>()
            .Where(candidate => Count(named, candidate, shape) != count && Count(other, candidate, shape) != count)
            .ToList();
        var otherImage = random.NextBool(OtherImageShare);
        if (borrowed.Count > 0 && (otherImage || recoloured.Count == 0))
        {
            return (random.Pick(borrowed), Nlvr2StatementKind.OtherImage);
        }

        if (recoloured.Count > 0)
        {
            return ((random.Pick(recoloured), shape, count), Nlvr2StatementKind.WrongColour);
        }

        int[] offs = count > 1 && count < MaxCount ? [count - 1, count + 1] : count > 1 ? [count - 1] : [count + 1];
        return ((colour, shape, random.Pick(offs)), Nlvr2StatementKind.WrongCount);
    }
}
