using System.Text;
using System.Text.RegularExpressions;

namespace VisionLanguage.Evaluation;

/// <summary>
/// The answer normalisation of the official VQA evaluation (GT-Vision-Lab/VQA
/// <c>PythonEvaluationTools/vqaEvaluation/vqaEval.py</c>, its latest version, commit a013f00 "Fixed processing answers
/// bug"), rule for rule, quirks included, so accuracies here are the official ones:
/// <list type="number">
/// <item><see cref="Clean"/>: newlines and tabs become spaces, then surrounding white space is stripped.</item>
/// <item><see cref="ProcessPunctuation"/>: each of <c>; / [ ] " { } ( ) = + \ _ - &gt; &lt; @ ` , ? !</c> is deleted when
/// the answer holds it next to a space, or holds a comma between two digits anywhere ("1,000" → "1000"), and is
/// otherwise replaced by a space ("yes/no" → "yes no"); then a period not followed by a digit is deleted, so a decimal
/// point stays ("2.5") and a full stop goes ("dog." → "dog").</item>
/// <item><see cref="ProcessDigitArticle"/>: lower-cased and split at white space; number words zero to ten (and
/// "none") become digits, the articles a, an and the are dropped, and apostrophe-less contractions get their apostrophe
/// back ("dont" → "don't"); the words are joined by single spaces.</item>
/// </list>
/// The official code's quirks kept: the apostrophe and the colon are not in its punctuation list (so "don't" stays
/// "don't"); whether a mark is deleted or spaced is decided on the answer as given, not as already processed; the
/// period pattern <c>(?!&lt;=\d)(\.)(?!\d)</c> is a look-ahead (its author meant a look-behind), so only "not followed by a
/// digit" counts ("5." → "5", ".5" stays); and Python's <c>re.sub</c> receives <c>re.UNICODE</c> (32) as its count, so at most
/// 32 periods are deleted. Its contraction keys with capitals ("Im", "Ive") never match lower-cased words; kept as data.
/// </summary>
public static class VqaAnswerNormalization
{
    /// <summary>The official code passes <c>re.UNICODE</c> where <c>re.sub</c> takes its count: at most this many periods go.</summary>
    private const int PeriodStripCount = 32;

    private static readonly string[] Punctuation =
        [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];

    // The official patterns, as written there.
    private static readonly Regex PeriodStrip = new(@"(?!<=\d)(\.)(?!\d)", RegexOptions.CultureInvariant);
    private static readonly Regex CommaStrip = new(@"(\d)(\,)(\d)", RegexOptions.CultureInvariant);

    private static readonly Dictionary<string, string> NumberWords = new(StringComparer.Ordinal)
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4", ["five"] = "5",
        ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    private static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "the" };

    // The official contractions map, entry for entry (the official file's order).
    private static readonly Dictionary<string, string> Contractions = new(StringComparer.Ordinal)
    {
        ["aint"] = "ain't", ["arent"] = "aren't", ["cant"] = "can't", ["couldve"] = "could've",
        ["couldnt"] = "couldn't", ["couldn'tve"] = "couldn't've", ["couldnt've"] = "couldn't've",
        ["didnt"] = "didn't", ["doesnt"] = "doesn't", ["dont"] = "don't", ["hadnt"] = "hadn't",
        ["hadnt've"] = "hadn't've", ["hadn'tve"] = "hadn't've", ["hasnt"] = "hasn't", ["havent"] = "haven't",
        ["hed"] = "he'd", ["hed've"] = "he'd've", ["he'dve"] = "he'd've", ["hes"] = "he's", ["howd"] = "how'd",
        ["howll"] = "how'll", ["hows"] = "how's", ["Id've"] = "I'd've", ["I'dve"] = "I'd've", ["Im"] = "I'm",
        ["Ive"] = "I've", ["isnt"] = "isn't", ["itd"] = "it'd", ["itd've"] = "it'd've", ["it'dve"] = "it'd've",
        ["itll"] = "it'll", ["let's"] = "let's", ["maam"] = "ma'am", ["mightnt"] = "mightn't",
        ["mightnt've"] = "mightn't've", ["mightn'tve"] = "mightn't've", ["mightve"] = "might've",
        ["mustnt"] = "mustn't", ["mustve"] = "must've", ["neednt"] = "needn't", ["notve"] = "not've",
        ["oclock"] = "o'clock", ["oughtnt"] = "oughtn't", ["ow's'at"] = "'ow's'at", ["'ows'at"] = "'ow's'at",
        ["'ow'sat"] = "'ow's'at", ["shant"] = "shan't", ["shed've"] = "she'd've", ["she'dve"] = "she'd've",
        ["she's"] = "she's", ["shouldve"] = "should've", ["shouldnt"] = "shouldn't",
        ["shouldnt've"] = "shouldn't've", ["shouldn'tve"] = "shouldn't've", ["somebody'd"] = "somebodyd",
        ["somebodyd've"] = "somebody'd've", ["somebody'dve"] = "somebody'd've", ["somebodyll"] = "somebody'll",
        ["somebodys"] = "somebody's", ["someoned"] = "someone'd", ["someoned've"] = "someone'd've",
        ["someone'dve"] = "someone'd've", ["someonell"] = "someone'll", ["someones"] = "someone's",
        ["somethingd"] = "something'd", ["somethingd've"] = "something'd've", ["something'dve"] = "something'd've",
        ["somethingll"] = "something'll", ["thats"] = "that's", ["thered"] = "there'd", ["thered've"] = "there'd've",
        ["there'dve"] = "there'd've", ["therere"] = "there're", ["theres"] = "there's", ["theyd"] = "they'd",
        ["theyd've"] = "they'd've", ["they'dve"] = "they'd've", ["theyll"] = "they'll", ["theyre"] = "they're",
        ["theyve"] = "they've", ["twas"] = "'twas", ["wasnt"] = "wasn't", ["wed've"] = "we'd've",
        ["we'dve"] = "we'd've", ["weve"] = "we've", ["werent"] = "weren't", ["whatll"] = "what'll",
        ["whatre"] = "what're", ["whats"] = "what's", ["whatve"] = "what've", ["whens"] = "when's",
        ["whered"] = "where'd", ["wheres"] = "where's", ["whereve"] = "where've", ["whod"] = "who'd",
        ["whod've"] = "who'd've", ["who'dve"] = "who'd've", ["wholl"] = "who'll", ["whos"] = "who's",
        ["whove"] = "who've", ["whyll"] = "why'll", ["whyre"] = "why're", ["whys"] = "why's", ["wont"] = "won't",
        ["wouldve"] = "would've", ["wouldnt"] = "wouldn't", ["wouldnt've"] = "wouldn't've",
        ["wouldn'tve"] = "wouldn't've", ["yall"] = "y'all", ["yall'll"] = "y'all'll", ["y'allll"] = "y'all'll",
        ["yall'd've"] = "y'all'd've", ["y'alld've"] = "y'all'd've", ["y'all'dve"] = "y'all'd've", ["youd"] = "you'd",
        ["youd've"] = "you'd've", ["you'dve"] = "you'd've", ["youll"] = "you'll", ["youre"] = "you're",
        ["youve"] = "you've",
    };

    /// <summary>An answer fully normalised: <see cref="Clean"/>, <see cref="ProcessPunctuation"/>, <see cref="ProcessDigitArticle"/>.</summary>
    public static string Normalize(string answer) => ProcessDigitArticle(ProcessPunctuation(Clean(answer)));

    /// <summary>Newlines and tabs as spaces, surrounding white space stripped (the official code does this to every answer).</summary>
    public static string Clean(string answer) => StripPython(answer.Replace('\n', ' ').Replace('\t', ' '));

    /// <summary>The official <c>processPunctuation</c>.</summary>
    public static string ProcessPunctuation(string text)
    {
        var hasDigitComma = CommaStrip.IsMatch(text);
        var output = text;
        foreach (var mark in Punctuation)
        {
            // Decided on the text as given, as in the official loop, which tests inText but edits outText.
            var delete = text.Contains(mark + " ", StringComparison.Ordinal) || text.Contains(" " + mark, StringComparison.Ordinal) || hasDigitComma;
            output = output.Replace(mark, delete ? "" : " ", StringComparison.Ordinal);
        }

        return PeriodStrip.Replace(output, "", PeriodStripCount);
    }

    /// <summary>The official <c>processDigitArticle</c>.</summary>
    public static string ProcessDigitArticle(string text)
    {
        var words = new List<string>();
        foreach (var word in SplitPython(text.ToLowerInvariant()))
        {
            var mapped = NumberWords.GetValueOrDefault(word, word);
            if (!Articles.Contains(mapped))
            {
                words.Add(Contractions.GetValueOrDefault(mapped, mapped));
            }
        }

        return string.Join(' ', words);
    }

    /// <summary>Python's <c>str.isspace</c>: .NET's white space plus the separators U+001C to U+001F.</summary>
    private static bool IsPythonSpace(char character) => char.IsWhiteSpace(character) || character is >= '\u001c' and <= '\u001f';

    private static string StripPython(string text)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && IsPythonSpace(text[start]))
        {
            start++;
        }

        while (end > start && IsPythonSpace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    /// <summary>Python's <c>str.split()</c>: runs of white space separate words; none are empty.</summary>
    private static List<string> SplitPython(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var character in text)
        {
            if (!IsPythonSpace(character))
            {
                word.Append(character);
            }
            else if (word.Length > 0)
            {
                words.Add(word.ToString());
                word.Clear();
            }
        }

        if (word.Length > 0)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
