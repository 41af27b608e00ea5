using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// What a dataset artifact holds, as the readers tell it apart: captioned images (<c>annotations.json</c>), VQA splits
/// (<c>vqa/*.json</c>) and NLVR2 splits (<c>nlvr2/*.json</c>). Every dataset is of type <c>dataset</c>; what it holds
/// depends on the producing stage's options (a <c>dataset.synthetic</c> with <c>vqa_questions</c> above 0, a
/// <c>dataset.import</c> of <c>format: nlvr2</c>), so it is derived at submission from them (<see cref="OutputSlot.Holds"/>)
/// and checked against what the consuming input needs (<see cref="InputSlot.Needs"/>).
/// </summary>
[Flags]
public enum DatasetContent
{
    None = 0,

    /// <summary>Images with captions (<c>annotations.json</c>): what pretraining, captioning, retrieval and CapFilt read.</summary>
    Captions = 1,

    /// <summary>VQA splits: questions with ten annotator answers each.</summary>
    VqaQuestions = 2,

    /// <summary>NLVR2 splits: image pairs with a true or false statement.</summary>
    Nlvr2Statements = 4,
}

/// <summary>Words for <see cref="DatasetContent"/> in errors and the catalog endpoint.</summary>
public static class DatasetContents
{
    private static readonly (DatasetContent Content, string Name, string Words)[] Parts =
    [
        (DatasetContent.Captions, "captions", "captions"),
        (DatasetContent.VqaQuestions, "vqa_questions", "VQA questions"),
        (DatasetContent.Nlvr2Statements, "nlvr2_statements", "NLVR2 statements"),
    ];

    /// <summary>The single contents <paramref name="contents"/> combines, in declaration order.</summary>
    public static IEnumerable<DatasetContent> Each(DatasetContent contents) =>
        Parts.Where(part => contents.HasFlag(part.Content)).Select(part => part.Content);

    /// <summary>The names the catalog endpoint shows (<c>captions</c>, <c>vqa_questions</c>, <c>nlvr2_statements</c>).</summary>
    public static List<string> Names(DatasetContent contents) => [.. Parts.Where(part => contents.HasFlag(part.Content)).Select(part => part.Name)];

    /// <summary>"captions", "captions and VQA questions", "nothing", joined with <paramref name="conjunction"/>.</summary>
    public static string Describe(DatasetContent contents, string conjunction = "and")
    {
        var words = Parts.Where(part => contents.HasFlag(part.Content)).Select(part => part.Words).ToList();
        return words.Count switch
        {
            0 => "nothing a stage reads",
            1 => words[0],
            _ => $"{string.Join(", ", words.Take(words.Count - 1))} {conjunction} {words[^1]}",
        };
    }
}

/// <summary>A dataset output holds <paramref name="Content"/>, always or only when <paramref name="When"/> holds of the producer's options.</summary>
public sealed record DatasetHolds(DatasetContent Content, ContentCondition? When = null);

/// <summary>
/// A condition on a producer's resolved option (snake_case, as specs write it): its value is one of <see cref="Values"/>,
/// or, for a number, above <see cref="Above"/>.
/// </summary>
public sealed record ContentCondition(string Option, IReadOnlyList<string>? Values = null, double? Above = null)
{
    public static ContentCondition OneOf(string option, params string[] values) => new(option, Values: values);

    public static ContentCondition AboveZero(string option) => new(option, Above: 0);

    /// <summary>Whether the condition holds of <paramref name="resolved"/>, a stage's options with every default filled in.</summary>
    public bool HoldsFor(JsonObject resolved) =>
        resolved[Option] is { } value && (Values is not null
            ? Values.Contains(value.ToString(), StringComparer.Ordinal)
            : Above is { } above && double.TryParse(value.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > above);

    /// <summary>The setting that makes it hold, as a fix says it: "format: vqa", "vqa_questions above 0".</summary>
    public override string ToString() =>
        Values is not null ? $"{Option}: {string.Join(" or ", Values)}" : $"{Option} above {Above?.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// The datasets bound to input <paramref name="Input"/> must hold, for each value of option <paramref name="Option"/>
/// (snake_case, as specs write it), at least one of the contents of <paramref name="Needs"/> (e.g. <c>evaluate</c>'s
/// task: VQA questions for <c>vqa</c>); values not listed keep the input's own <see cref="InputSlot.Needs"/>.
/// </summary>
public sealed record OptionSelectsInputContents(string Option, string Input, IReadOnlyDictionary<string, DatasetContent> Needs);
