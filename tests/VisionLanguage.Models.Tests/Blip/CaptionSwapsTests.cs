using VisionLanguage.Models.Blip;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class CaptionSwapsTests
{
    // Token ids: 1 [CLS], 2 [SEP]; words: 10 a, 11 red, 12 blue, 13 circle, 14 square, 15 there, 16 is, 17 green.
    private const long Cls = 1, Sep = 2, A = 10, Red = 11, Blue = 12, Circle = 13, Square = 14, There = 15, Is = 16, Green = 17;
    private static readonly long[] Special = [0, Cls, Sep];

    // "a red circle", "a blue circle", "a red square", "there is a green circle".
    private static readonly long[][] Captions =
    [
        [Cls, A, Red, Circle, Sep],
        [Cls, A, Blue, Circle, Sep],
        [Cls, A, Red, Square, Sep],
        [Cls, There, Is, A, Green, Circle, Sep],
    ];

    [Fact]
    public void Words_seen_between_the_same_two_neighbours_replace_each_other()
    {
        var swaps = CaptionSwaps.Learn(Captions, Special);

        // (a, circle) holds red, blue and green; (red, [SEP]) holds circle and square. Nothing else has two.
        Assert.Equal(2, swaps.Contexts);
        var edits = AllEdits(swaps, [Cls, A, Red, Circle, Sep]);
        Assert.Equal(
            ["a blue circle", "a green circle", "a red square"],
            edits.Select(Words).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_draws_choose_the_position_then_the_word_uniformly_and_never_the_word_already_there()
    {
        var swaps = CaptionSwaps.Learn(Captions, Special);
        long[] ids = [Cls, A, Red, Circle, Sep, 0, 0];

        // Two positions have alternatives (red, circle): a draw below 0.5 takes the first. Red's alternatives are blue
        // and green once red itself is left out: a draw below 0.5 takes blue, at or above it green.
        Assert.True(swaps.TrySwap(ids, 5, positionDraw: 0.2, tokenDraw: 0.7));
        Assert.Equal([Cls, A, Green, Circle, Sep, 0, 0], ids);

        long[] again = [Cls, A, Red, Circle, Sep];
        Assert.True(swaps.TrySwap(again, 5, positionDraw: 0.9, tokenDraw: 0.0));
        Assert.Equal([Cls, A, Red, Square, Sep], again);
    }

    [Fact]
    public void A_caption_without_a_swappable_word_is_left_alone()
    {
        var swaps = CaptionSwaps.Learn(Captions, Special);
        long[] ids = [Cls, There, Is, Sep];

        Assert.False(swaps.TrySwap(ids, ids.Length, 0.5, 0.5));
        Assert.Equal([Cls, There, Is, Sep], ids);
        Assert.Equal(0.75, swaps.EditableShare(Captions.Take(3).Append([Cls, There, Is, Sep]).ToList()));
    }

    [Fact]
    public void Special_tokens_are_neighbours_but_never_swapped_in_or_out()
    {
        // [SEP] and [CLS] both appear between 10 and 10 here; as special tokens neither is a word to swap.
        long[][] captions = [[Cls, A, Sep, A, Sep], [Cls, A, Cls, A, Sep]];
        var swaps = CaptionSwaps.Learn(captions, Special);

        Assert.Equal(0, swaps.Contexts);
        Assert.Equal(0.0, swaps.EditableShare(captions));
    }

    [Fact]
    public void Only_the_real_tokens_are_edited_and_padding_is_never_a_neighbour()
    {
        var swaps = CaptionSwaps.Learn(Captions, Special);
        // "a red" then padding: red's right neighbour within the caption is [SEP] at position 3.
        long[] ids = [Cls, A, Red, Sep, 0, 0];

        Assert.False(swaps.TrySwap(ids, 4, 0.0, 0.0));
    }

    private static List<long[]> AllEdits(CaptionSwaps swaps, long[] caption)
    {
        var edits = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<long[]>();
        for (var p = 0.0; p < 1; p += 0.05)
        {
            for (var t = 0.0; t < 1; t += 0.05)
            {
                var ids = (long[])caption.Clone();
                Assert.True(swaps.TrySwap(ids, ids.Length, p, t));
                if (edits.Add(string.Join(',', ids)))
                {
                    result.Add(ids);
                }
            }
        }

        return result;
    }

    private static string Words(long[] ids) => string.Join(' ', ids.Where(id => id >= 10).Select(id => id switch
    {
        A => "a",
        Red => "red",
        Blue => "blue",
        Circle => "circle",
        Square => "square",
        Green => "green",
        _ => id.ToString(System.Globalization.CultureInfo.InvariantCulture),
    }));
}
