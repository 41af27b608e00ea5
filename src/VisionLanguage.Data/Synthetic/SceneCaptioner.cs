using static VisionLanguage.Data.Synthetic.SceneWords;

namespace VisionLanguage.Data.Synthetic;

/// <summary>How a web caption was corrupted: replaced by another scene's caption, or one attribute made wrong.</summary>
public enum CorruptionKind
{
    Unrelated,
    Colour,
    Shape,
    Count,
    Position,
}

/// <summary>
/// Writes captions from scene descriptions with one of <see cref="TemplateCount"/> templates per layout, and makes
/// wrong descriptions for noisy captions: one attribute changed, so the caption differs from the true one in
/// exactly that attribute.
/// </summary>
public static class SceneCaptioner
{
    public const int TemplateCount = 5;

    /// <summary>The caption of <paramref name="description"/> in template <paramref name="template"/> (0 to <see cref="TemplateCount"/> - 1).</summary>
    public static string Caption(SceneDescription description, int template)
    {
        var first = description.First;
        var colour = Word(first.Colour);
        var shape = Word(first.Shape);
        var size = Word(first.Size);
        switch (description.Layout)
        {
            case SceneLayout.Single:
                var place = Phrase(description.Placement!.Value);
                return template switch
                {
                    0 => $"a {size} {colour} {shape} {place}",
                    1 => $"{Article(colour)} {colour} {shape} {place}",
                    2 => $"there is a {size} {colour} {shape} {place}",
                    3 => $"{place} there is {Article(colour)} {colour} {shape}",
                    _ => $"a picture of a {size} {colour} {shape} {place}",
                };
            case SceneLayout.Group:
                var count = Number(description.Count);
                var shapes = Word(first.Shape, plural: true);
                return template switch
                {
                    0 => $"{count} {size} {colour} {shapes}",
                    1 => $"{count} {colour} {shapes}",
                    2 => $"there are {count} {colour} {shapes}",
                    3 => $"a picture of {count} {size} {colour} {shapes}",
                    _ => $"a group of {count} {size} {colour} {shapes}",
                };
            default:
                var second = description.Second!.Value;
                var relation = description.Relation!.Value;
                var a = $"{colour} {shape}";
                var b = $"{Word(second.Colour)} {Word(second.Shape)}";
                var rel = Phrase(relation);
                return template switch
                {
                    0 => $"{Article(a)} {a} {rel} {Article(b)} {b}",
                    1 => $"a {size} {a} {rel} a {Word(second.Size)} {b}",
                    2 => $"there is {Article(a)} {a} {rel} {Article(b)} {b}",
                    3 => $"{Article(b)} {b} {Phrase(Inverse(relation))} {Article(a)} {a}",
                    _ => $"a picture of {Article(a)} {a} {rel} {Article(b)} {b}",
                };
        }
    }

    /// <summary>
    /// Every caption true of <paramref name="description"/>'s scene: all templates, for the description and, for a
    /// pair, the same pair seen from its second object. Some templates leave the size out, so a scene of another
    /// size can share a caption; a noisy caption is checked against this set.
    /// </summary>
    public static IReadOnlySet<string> TrueCaptions(SceneDescription description)
    {
        var captions = new HashSet<string>(StringComparer.Ordinal);
        for (var t = 0; t < TemplateCount; t++)
        {
            captions.Add(Caption(description, t));
            if (description is { Layout: SceneLayout.Pair, Second: { } second, Relation: { } relation })
            {
                captions.Add(Caption(description with { First = second, Second = description.First, Relation = Inverse(relation) }, t));
            }
        }

        return captions;
    }

    /// <summary>The attributes of <paramref name="description"/> a corruption can change.</summary>
    public static IReadOnlyList<CorruptionKind> Corruptible(SceneDescription description) => description.Layout switch
    {
        SceneLayout.Single => [CorruptionKind.Colour, CorruptionKind.Shape, CorruptionKind.Count, CorruptionKind.Position],
        SceneLayout.Group => [CorruptionKind.Colour, CorruptionKind.Shape, CorruptionKind.Count],
        _ => [CorruptionKind.Colour, CorruptionKind.Shape, CorruptionKind.Position],
    };

    /// <summary>
    /// <paramref name="description"/> with <paramref name="kind"/> made wrong: another colour or shape (of one of a
    /// pair's objects), another count (a lone object becomes two to four), another place, or the opposite relation.
    /// </summary>
    public static SceneDescription Corrupt(SceneDescription description, CorruptionKind kind, DataRandom random)
    {
        var pairSecond = description.Layout == SceneLayout.Pair && random.NextBool();
        switch (kind)
        {
            case CorruptionKind.Colour when pairSecond:
                var second = description.Second!.Value;
                return description with { Second = second with { Colour = (ShapeColour)Other((int)second.Colour, 10, random) } };
            case CorruptionKind.Colour:
                return description with { First = description.First with { Colour = (ShapeColour)Other((int)description.First.Colour, 10, random) } };
            case CorruptionKind.Shape when pairSecond:
                var other = description.Second!.Value;
                return description with { Second = other with { Shape = (ShapeKind)Other((int)other.Shape, 8, random) } };
            case CorruptionKind.Shape:
                return description with { First = description.First with { Shape = (ShapeKind)Other((int)description.First.Shape, 8, random) } };
            case CorruptionKind.Count when description.Layout == SceneLayout.Single:
                return description with { Layout = SceneLayout.Group, Count = random.Next(2, 5), Placement = null };
            case CorruptionKind.Count when description.Layout == SceneLayout.Group:
                return description with { Count = Other(description.Count - 2, 3, random) + 2 };
            case CorruptionKind.Position when description.Layout == SceneLayout.Single:
                return description with { Placement = (Placement)Other((int)description.Placement!.Value, 5, random) };
            case CorruptionKind.Position when description.Layout == SceneLayout.Pair:
                return description with { Relation = Inverse(description.Relation!.Value) };
            default:
                throw new ArgumentException($"a {description.Layout} scene has no {kind} to corrupt", nameof(kind));
        }
    }

    /// <summary>A value in [0, <paramref name="count"/>) other than <paramref name="value"/>, uniformly.</summary>
    private static int Other(int value, int count, DataRandom random)
    {
        var other = random.Next(count - 1);
        return other >= value ? other + 1 : other;
    }
}
