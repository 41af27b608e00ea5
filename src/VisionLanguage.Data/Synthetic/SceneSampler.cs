namespace VisionLanguage.Data.Synthetic;

/// <summary>
/// Draws random scenes: a lone object at one of five places, a group of two to four identical objects, or two
/// different objects in a left/right/above/below relation; every object a colour (10), a shape (8) and a size
/// (2), with jittered position, rotation and colour, on a tinted gradient, among up to two tiny distractors.
/// Tens of thousands of distinct descriptions, so retrieval must read colour, shape, count and layout together.
/// </summary>
public static class SceneSampler
{
    /// <summary>The most a drawn colour channel deviates from its colour's base RGB.</summary>
    public const int ColourJitter = 12;

    /// <summary>Radius (share of the side) of large, small and distractor shapes.</summary>
    public const double LargeRadius = 0.18;

    public const double SmallRadius = 0.09;
    public const double DistractorRadius = 0.045;

    private const int MaxDistractors = 2;
    private const int DistractorTries = 12;

    public static double Radius(ShapeSize size) => size == ShapeSize.Large ? LargeRadius : SmallRadius;

    public static Scene Sample(DataRandom random)
    {
        var roll = random.NextDouble();
        var layout = roll < 0.35 ? SceneLayout.Single : roll < 0.6 ? SceneLayout.Group : SceneLayout.Pair;
        var (description, objects) = layout switch
        {
            SceneLayout.Single => Single(random),
            SceneLayout.Group => Group(random),
            _ => Pair(random),
        };

        var described = new HashSet<(ShapeColour, ShapeKind)> { (description.First.Colour, description.First.Shape) };
        if (description.Second is { } second)
        {
            described.Add((second.Colour, second.Shape));
        }

        var distractors = Distractors(random, objects, described);
        var gray = random.Next(95, 166);
        var top = ((byte)Clamp(gray + random.Next(-12, 13)), (byte)Clamp(gray + random.Next(-12, 13)), (byte)Clamp(gray + random.Next(-12, 13)));
        var shift = random.Next(-20, 21);
        var bottom = ((byte)Clamp(top.Item1 + shift), (byte)Clamp(top.Item2 + shift), (byte)Clamp(top.Item3 + shift));
        return new Scene(description, objects, distractors, top, bottom);
    }

    private static (SceneDescription, List<PlacedShape>) Single(DataRandom random)
    {
        var spec = Spec(random);
        var placement = (Placement)random.Next(5);
        var (x, y) = placement switch
        {
            Placement.Left => (0.25, 0.5),
            Placement.Right => (0.75, 0.5),
            Placement.Top => (0.5, 0.25),
            Placement.Bottom => (0.5, 0.75),
            _ => (0.5, 0.5),
        };
        var shape = Place(random, spec, x + random.NextDouble(-0.05, 0.05), y + random.NextDouble(-0.05, 0.05));
        return (new SceneDescription(SceneLayout.Single, spec, Placement: placement), [shape]);
    }

    private static (SceneDescription, List<PlacedShape>) Group(DataRandom random)
    {
        var spec = Spec(random);
        var count = random.Next(2, 5);

        // Cells far enough apart that no two objects touch: a 2x2 grid for large ones, 3x3 for small.
        double[] lines = spec.Size == ShapeSize.Large ? [0.27, 0.73] : [0.2, 0.5, 0.8];
        var cells = new int[lines.Length * lines.Length];
        for (var i = 0; i < cells.Length; i++)
        {
            cells[i] = i;
        }

        random.Shuffle(cells.AsSpan());
        var jitter = spec.Size == ShapeSize.Large ? 0.03 : 0.04;
        var objects = new List<PlacedShape>(count);
        foreach (var cell in cells.AsSpan(0, count))
        {
            var x = lines[cell % lines.Length] + random.NextDouble(-jitter, jitter);
            var y = lines[cell / lines.Length] + random.NextDouble(-jitter, jitter);
            objects.Add(Place(random, spec, x, y));
        }

        return (new SceneDescription(SceneLayout.Group, spec, Count: count), objects);
    }

    private static (SceneDescription, List<PlacedShape>) Pair(DataRandom random)
    {
        var first = Spec(random);
        ObjectSpec second;
        do
        {
            second = Spec(random);
        }
        while (second.Colour == first.Colour && second.Shape == first.Shape);

        var relation = (Relation)random.Next(4);

        // Along the relation's axis the objects are at least 0.36 apart; across it at most 0.3, so the relation is unambiguous.
        var near = random.NextDouble(0.2, 0.32);
        var far = random.NextDouble(0.68, 0.8);
        var acrossFirst = random.NextDouble(0.35, 0.65);
        var acrossSecond = random.NextDouble(0.35, 0.65);
        var (firstAlong, secondAlong) = relation is Relation.LeftOf or Relation.Above ? (near, far) : (far, near);
        var horizontal = relation is Relation.LeftOf or Relation.RightOf;
        var a = horizontal ? Place(random, first, firstAlong, acrossFirst) : Place(random, first, acrossFirst, firstAlong);
        var b = horizontal ? Place(random, second, secondAlong, acrossSecond) : Place(random, second, acrossSecond, secondAlong);
        return (new SceneDescription(SceneLayout.Pair, first, Relation: relation, Second: second), [a, b]);
    }

    private static List<PlacedShape> Distractors(DataRandom random, List<PlacedShape> objects, HashSet<(ShapeColour, ShapeKind)> described)
    {
        var count = random.Next(MaxDistractors + 1);
        var distractors = new List<PlacedShape>(count);
        for (var d = 0; d < count; d++)
        {
            ShapeColour colour;
            ShapeKind shape;
            do
            {
                colour = (ShapeColour)random.Next(10);
                shape = (ShapeKind)random.Next(8);
            }
            while (described.Contains((colour, shape)));

            for (var attempt = 0; attempt < DistractorTries; attempt++)
            {
                var x = random.NextDouble(0.08, 0.92);
                var y = random.NextDouble(0.08, 0.92);
                var clear = objects.All(o => Distance(o, x, y) > o.Radius + DistractorRadius + 0.03) &&
                    distractors.All(o => Distance(o, x, y) > 3 * DistractorRadius);
                if (clear)
                {
                    distractors.Add(Place(random, colour, shape, DistractorRadius, x, y));
                    break;
                }
            }
        }

        return distractors;
    }

    private static ObjectSpec Spec(DataRandom random) =>
        new((ShapeColour)random.Next(10), (ShapeKind)random.Next(8), random.NextBool() ? ShapeSize.Large : ShapeSize.Small);

    private static PlacedShape Place(DataRandom random, ObjectSpec spec, double x, double y) =>
        Place(random, spec.Colour, spec.Shape, Radius(spec.Size), x, y);

    private static PlacedShape Place(DataRandom random, ShapeColour colour, ShapeKind shape, double radius, double x, double y)
    {
        // A small tilt only: a square turned 45 degrees would look like a diamond.
        var rotation = shape == ShapeKind.Circle ? 0 : Math.Round(random.NextDouble(-10, 10), 2);
        var (r, g, b) = SceneWords.Rgb(colour);
        return new PlacedShape(shape, colour, Math.Round(x, 4), Math.Round(y, 4), radius, rotation,
            (byte)Clamp(r + random.Next(-ColourJitter, ColourJitter + 1)),
            (byte)Clamp(g + random.Next(-ColourJitter, ColourJitter + 1)),
            (byte)Clamp(b + random.Next(-ColourJitter, ColourJitter + 1)));
    }

    private static double Distance(PlacedShape shape, double x, double y) => Math.Sqrt(((shape.X - x) * (shape.X - x)) + ((shape.Y - y) * (shape.Y - y)));

    private static int Clamp(int value) => Math.Clamp(value, 0, 255);
}
