namespace VisionLanguage.Data.Synthetic;

/// <summary>The words captions use for scene attributes, and the palette behind the colour words.</summary>
public static class SceneWords
{
    private static readonly string[] Numbers = ["zero", "one", "two", "three", "four"];

    /// <summary>The base RGB of each colour; drawn shapes deviate by at most <see cref="SceneSampler.ColourJitter"/> per channel.</summary>
    public static (byte R, byte G, byte B) Rgb(ShapeColour colour) => colour switch
    {
        ShapeColour.Red => (220, 40, 40),
        ShapeColour.Orange => (245, 140, 20),
        ShapeColour.Yellow => (240, 220, 40),
        ShapeColour.Green => (40, 170, 60),
        ShapeColour.Cyan => (40, 200, 210),
        ShapeColour.Blue => (40, 80, 220),
        ShapeColour.Purple => (140, 60, 190),
        ShapeColour.Pink => (245, 130, 190),
        ShapeColour.White => (245, 245, 245),
        ShapeColour.Black => (20, 20, 20),
        _ => throw new ArgumentOutOfRangeException(nameof(colour), colour, null),
    };

    public static string Word(ShapeColour colour) => colour.ToString().ToLowerInvariant();

    public static string Word(ShapeSize size) => size.ToString().ToLowerInvariant();

    public static string Word(ShapeKind shape, bool plural = false) => (shape, plural) switch
    {
        (ShapeKind.Cross, true) => "crosses",
        (_, true) => shape.ToString().ToLowerInvariant() + "s",
        _ => shape.ToString().ToLowerInvariant(),
    };

    public static string Number(int count) => Numbers[count];

    public static string Phrase(Placement placement) => placement switch
    {
        Placement.Left => "on the left",
        Placement.Right => "on the right",
        Placement.Top => "at the top",
        Placement.Bottom => "at the bottom",
        Placement.Center => "in the center",
        _ => throw new ArgumentOutOfRangeException(nameof(placement), placement, null),
    };

    public static string Phrase(Relation relation) => relation switch
    {
        Relation.LeftOf => "to the left of",
        Relation.RightOf => "to the right of",
        Relation.Above => "above",
        Relation.Below => "below",
        _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, null),
    };

    /// <summary>The relation seen from the other object: left of ↔ right of, above ↔ below.</summary>
    public static Relation Inverse(Relation relation) => relation switch
    {
        Relation.LeftOf => Relation.RightOf,
        Relation.RightOf => Relation.LeftOf,
        Relation.Above => Relation.Below,
        Relation.Below => Relation.Above,
        _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, null),
    };

    /// <summary>"a" or "an", as <paramref name="next"/> begins.</summary>
    public static string Article(string next) => next.Length > 0 && "aeiou".Contains(next[0], StringComparison.Ordinal) ? "an" : "a";
}
