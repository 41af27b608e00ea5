using System.Text;
using System.Text.RegularExpressions;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// GPT-2's byte-level conventions, which OPT keeps: the pre-tokenizing pattern, and the table that gives each of the 256
/// byte values a printable character (<c>bytes_to_unicode</c> in GPT-2's <c>encoder.py</c>), so a BPE vocabulary of
/// strings can spell any UTF-8 text. A space becomes <c>Ġ</c> (U+0120), a newline <c>Ċ</c> (U+010A).
/// </summary>
public static partial class GptByteLevel
{
    /// <summary>
    /// GPT-2's pre-tokenizer: English contractions, a letter run, a digit run or a run of other symbols (each with at most
    /// one leading space), and whitespace, of which a run before a word leaves its last space to that word.
    /// </summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The 256 byte symbols in GPT-2's order: the printable bytes <c>!</c>…<c>~</c>, <c>¡</c>…<c>¬</c>, <c>®</c>…<c>ÿ</c> as themselves, then the rest mapped from U+0100 on.</summary>
    public static IReadOnlyList<string> ByteSymbols { get; } = BuildByteSymbols();

    /// <summary>The compiled <see cref="Pattern"/>.</summary>
    [GeneratedRegex(Pattern)]
    public static partial Regex PreTokenizer();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char Symbol(byte value) => ByteToChar[value];

    /// <summary><paramref name="text"/>'s UTF-8 bytes, each as its symbol: <c>" héllo"</c> → <c>"ĠhÃ©llo"</c>.</summary>
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var symbols = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            symbols[i] = ByteToChar[bytes[i]];
        }

        return new string(symbols);
    }

    private static bool IsPrintable(int value) => value is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var value = 0; value < 256; value++)
        {
            table[value] = IsPrintable(value) ? (char)value : (char)next++;
        }

        return table;
    }

    private static string[] BuildByteSymbols()
    {
        var printable = Enumerable.Range(0, 256).Where(IsPrintable);
        var rest = Enumerable.Range(0, 256).Where(value => !IsPrintable(value));
        return [.. printable.Concat(rest).Select(value => ByteToChar[value].ToString())];
    }
}
