using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

/// <summary>Small tokenizer folders the tests write by hand, and a caption corpus for the trainers.</summary>
internal static class TokenizerTestFiles
{
    /// <summary>
    /// OPT's four special tokens, the byte symbols of a, b, c and space (Ġ), and three tokens the merges can make;
    /// ids in the order written.
    /// </summary>
    public const string OptVocabulary = """{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"a":4,"b":5,"c":6,"Ġ":7,"ab":8,"Ġa":9,"Ġab":10,"abc":11}""";

    /// <summary>Ranks 0–3: a·b, Ġ·a, Ġa·b, ab·c.</summary>
    public const string OptMerges = "#version: 0.2\na b\nĠ a\nĠa b\nab c\n";

    /// <summary>
    /// A Unigram model laid out as T5's: <c>&lt;pad&gt;</c> 0, <c>&lt;/s&gt;</c> 1, <c>&lt;unk&gt;</c> 2, no BOS
    /// (bos_id −1), then nine pieces with their log probabilities.
    /// </summary>
    public static SentencePieceModel T5Unigram { get; } = new(
        [
            new("<pad>", 0, SentencePieceKind.Control),   // 0
            new("</s>", 0, SentencePieceKind.Control),    // 1
            new("<unk>", 0, SentencePieceKind.Unknown),   // 2
            new("▁", -2f, SentencePieceKind.Normal),      // 3
            new("▁the", -1f, SentencePieceKind.Normal),   // 4
            new("▁cat", -1.5f, SentencePieceKind.Normal), // 5
            new("c", -3f, SentencePieceKind.Normal),      // 6
            new("a", -3f, SentencePieceKind.Normal),      // 7
            new("t", -3f, SentencePieceKind.Normal),      // 8
            new("s", -3f, SentencePieceKind.Normal),      // 9
            new("▁ca", -2.5f, SentencePieceKind.Normal),  // 10
            new("ts", -1.8f, SentencePieceKind.Normal),   // 11
        ],
        SentencePieceAlgorithm.Unigram,
        UnkId: 2,
        BosId: -1,
        EosId: 1,
        PadId: 0);

    /// <summary>Captions of the synthetic kind: few characters, many repeated words.</summary>
    public static IReadOnlyList<string> Captions { get; } =
    [
        "a red circle to the left of a blue square", "two small red circles above a green triangle",
        "a blue square at the top of the picture", "the green triangle is below the red circle",
        "three blue squares and a red circle", "a small green circle to the right of a big red square",
        "two big blue triangles", "the red square is above the blue circle", "a picture of two green squares",
        "a photo of a small red triangle", "the blue circle is to the left of the green square", "four small circles in a row",
    ];

    public static string WriteOpt(this DataTestFolder folder, string name, string vocabulary = OptVocabulary, string merges = OptMerges)
    {
        folder.WriteText($"{name}/{OptTokenizer.VocabularyFile}", vocabulary);
        folder.WriteText($"{name}/{OptTokenizer.MergesFile}", merges);
        return folder.PathOf(name);
    }

    public static string WriteT5(this DataTestFolder folder, string name, SentencePieceModel model) =>
        folder.WriteT5(name, SentencePieceModelFile.Serialize(model));

    public static string WriteT5(this DataTestFolder folder, string name, byte[] bytes)
    {
        Directory.CreateDirectory(folder.PathOf(name));
        File.WriteAllBytes(folder.PathOf($"{name}/{T5Tokenizer.ModelFile}"), bytes);
        return folder.PathOf(name);
    }
}
