using VisionLanguage.Data.Synthetic;
using PlacementKind = VisionLanguage.Data.Synthetic.Placement;
using RelationKind = VisionLanguage.Data.Synthetic.Relation;

namespace VisionLanguage.Data.Tests;

/// <summary>
/// Reads a synthetic caption back into the attributes it states, independently of the templates that wrote it:
/// colours, shapes and sizes in the order they appear, a count, a placement, a relation.
/// </summary>
internal sealed record ParsedCaption(
    IReadOnlyList<ShapeColour> Colours,
    IReadOnlyList<ShapeKind> Shapes,
    IReadOnlyList<ShapeSize> Sizes,
    int Count,
    Placement? Placement,
    Relation? Relation)
{
    private static readonly (string Phrase, Placement Placement)[] Placements =
        [("on the left", PlacementKind.Left), ("on the right", PlacementKind.Right), ("at the top", PlacementKind.Top),
         ("at the bottom", PlacementKind.Bottom), ("in the center", PlacementKind.Center)];

    private static readonly (string Phrase, Relation Relation)[] Relations =
        [("to the left of", RelationKind.LeftOf), ("to the right of", RelationKind.RightOf), ("above", RelationKind.Above), ("below", RelationKind.Below)];

    private static readonly Dictionary<string, ShapeColour> ColourWords =
        Enum.GetValues<ShapeColour>().ToDictionary(colour => SceneWords.Word(colour));

    private static readonly Dictionary<string, ShapeKind> ShapeWords = Enum.GetValues<ShapeKind>()
        .SelectMany(shape => new[] { (SceneWords.Word(shape), shape), (SceneWords.Word(shape, plural: true), shape) })
        .ToDictionary(pair => pair.Item1, pair => pair.shape);

    public static ParsedCaption Parse(string caption)
    {
        var padded = $" {caption} ";
        var placement = Placements.Where(p => padded.Contains($" {p.Phrase} ", StringComparison.Ordinal)).Select(p => (Placement?)p.Placement).SingleOrDefault();
        var relation = Relations.Where(r => padded.Contains($" {r.Phrase} ", StringComparison.Ordinal)).Select(r => (Relation?)r.Relation).SingleOrDefault();
        var colours = new List<ShapeColour>();
        var shapes = new List<ShapeKind>();
        var sizes = new List<ShapeSize>();
        var count = 1;
        foreach (var word in caption.Split(' '))
        {
            if (ColourWords.TryGetValue(word, out var colour))
            {
                colours.Add(colour);
            }
            else if (ShapeWords.TryGetValue(word, out var shape))
            {
                shapes.Add(shape);
            }
            else if (word is "small" or "large")
            {
                sizes.Add(word == "small" ? ShapeSize.Small : ShapeSize.Large);
            }
            else if (word is "two" or "three" or "four")
            {
                count = word switch { "two" => 2, "three" => 3, _ => 4 };
            }
        }

        return new ParsedCaption(colours, shapes, sizes, count, placement, relation);
    }

    /// <summary>True when everything this caption states holds for <paramref name="description"/> (sizes only where stated).</summary>
    public bool States(SceneDescription description)
    {
        switch (description.Layout)
        {
            case SceneLayout.Single:
                return Relation is null && Count == 1 && Placement == description.Placement && Matches(0, description.First) && Colours.Count == 1;
            case SceneLayout.Group:
                return Relation is null && Placement is null && Count == description.Count && Matches(0, description.First) && Colours.Count == 1;
            default:
                if (Relation is not { } relation || Colours.Count != 2 || Shapes.Count != 2)
                {
                    return false;
                }

                var (a, b) = (description.First, description.Second!.Value);
                return (relation == description.Relation && Matches(0, a) && Matches(1, b)) ||
                    (relation == SceneWords.Inverse(description.Relation!.Value) && Matches(0, b) && Matches(1, a));
        }
    }

    private bool Matches(int position, ObjectSpec spec) =>
        Colours[position] == spec.Colour && Shapes[position] == spec.Shape && (Sizes.Count == 0 || Sizes[position] == spec.Size);
}
