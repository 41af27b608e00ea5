namespace VisionLanguage.Data.Synthetic;

/// <summary>The shapes a synthetic scene draws.</summary>
public enum ShapeKind
{
    Circle,
    Square,
    Triangle,
    Star,
    Diamond,
    Hexagon,
    Cross,
    Heart,
}

/// <summary>The colours a synthetic scene paints shapes in (<see cref="SceneWords.Rgb"/> gives each one's RGB).</summary>
public enum ShapeColour
{
    Red,
    Orange,
    Yellow,
    Green,
    Cyan,
    Blue,
    Purple,
    Pink,
    White,
    Black,
}

/// <summary>Sizes a caption names; distractors are smaller than either and never named.</summary>
public enum ShapeSize
{
    Small,
    Large,
}

/// <summary>Where a lone object sits.</summary>
public enum Placement
{
    Left,
    Right,
    Top,
    Bottom,
    Center,
}

/// <summary>How the first object of a pair sits relative to the second.</summary>
public enum Relation
{
    LeftOf,
    RightOf,
    Above,
    Below,
}

/// <summary>What a scene shows: one placed object, a group of identical objects, or two objects in a relation.</summary>
public enum SceneLayout
{
    Single,
    Group,
    Pair,
}

/// <summary>An object as a caption describes it.</summary>
public readonly record struct ObjectSpec(ShapeColour Colour, ShapeKind Shape, ShapeSize Size);

/// <summary>
/// Everything a caption of a scene states: the layout, the (first) object, and per layout the count
/// (<see cref="SceneLayout.Group"/>: 2 to 4), the placement (<see cref="SceneLayout.Single"/>) or the relation and
/// second object (<see cref="SceneLayout.Pair"/>). A caption is a function of this and a template.
/// </summary>
public sealed record SceneDescription(
    SceneLayout Layout,
    ObjectSpec First,
    int Count = 1,
    Placement? Placement = null,
    Relation? Relation = null,
    ObjectSpec? Second = null);

/// <summary>
/// A shape as drawn: centre and radius as shares of the image side (so a scene renders at any size), rotation in
/// degrees, and its exact colour (the named colour, jittered).
/// </summary>
public sealed record PlacedShape(ShapeKind Shape, ShapeColour Colour, double X, double Y, double Radius, double Rotation, byte R, byte G, byte B);

/// <summary>
/// A synthetic scene: its description (what captions say), the described objects as drawn, undescribed distractor
/// shapes (tiny, and never of a described colour and shape, so captions stay true), and a vertical background
/// gradient from <see cref="BackgroundTop"/> to <see cref="BackgroundBottom"/> (RGB).
/// </summary>
public sealed record Scene(
    SceneDescription Description,
    IReadOnlyList<PlacedShape> Objects,
    IReadOnlyList<PlacedShape> Distractors,
    (byte R, byte G, byte B) BackgroundTop,
    (byte R, byte G, byte B) BackgroundBottom);
