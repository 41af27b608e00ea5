using System.Text.Encodings.Web;
using System.Text.Json;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// Reading and writing the files of a tokenizer folder in HF's layout: the model files each tokenizer names, and the
/// optional <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> that name the special tokens.
/// </summary>
internal static class TokenizerFolder
{
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string SpecialTokensMap = "special_tokens_map.json";

    // Tokens such as <pad> as themselves, as HF writes them (JSON allows it; the default encoder escapes < and >).
    private static readonly JsonWriterOptions Indented = new() { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The bytes of <paramref name="file"/> in <paramref name="folder"/>; <paramref name="fix"/> says where a missing one comes from.</summary>
    public static byte[] ReadRequired(string folder, string file, string fix)
    {
        if (!Directory.Exists(folder))
        {
            throw new TokenizerFileException(folder, "the tokenizer folder does not exist", fix);
        }

        var path = Path.Combine(folder, file);
        if (!File.Exists(path))
        {
            throw new TokenizerFileException(path, "the file is missing", fix);
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerFileException(path, $"the file cannot be read ({error.Message})", "Check the file's permissions, or copy the folder again.", error);
        }
    }

    /// <summary>
    /// The settings in <c>tokenizer_config.json</c> with <c>special_tokens_map.json</c>'s over them (HF's precedence);
    /// empty when neither file is there.
    /// </summary>
    public static TokenizerSettings ReadSettings(string folder)
    {
        var values = new Dictionary<string, (JsonElement Value, string File)>(StringComparer.Ordinal);
        foreach (var file in new[] { TokenizerConfig, SpecialTokensMap })
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path))
            {
                continue;
            }

            var bytes = ReadRequired(folder, file, FixOptional(file));
            try
            {
                using var document = JsonDocument.Parse(bytes);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new TokenizerFileException(path, $"the file holds a JSON {document.RootElement.ValueKind}, not an object", FixOptional(file));
                }

                foreach (var property in document.RootElement.EnumerateObject())
                {
                    values[property.Name] = (property.Value.Clone(), path);
                }
            }
            catch (JsonException error)
            {
                throw new TokenizerFileException(path, $"the file is not valid JSON ({error.Message})", FixOptional(file), error);
            }
        }

        return new TokenizerSettings(values);
    }

    /// <summary>Writes <paramref name="values"/> (strings, booleans, integers) as an indented JSON object, keys sorted.</summary>
    public static void WriteSettings(string path, IReadOnlyDictionary<string, object> values)
    {
        using var stream = File.Create(path);
        using (var writer = new Utf8JsonWriter(stream, Indented))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in values.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                switch (value)
                {
                    case string text:
                        writer.WriteString(key, text);
                        break;
                    case bool flag:
                        writer.WriteBoolean(key, flag);
                        break;
                    case int number:
                        writer.WriteNumber(key, number);
                        break;
                    default:
                        throw new ArgumentException($"setting '{key}' is a {value.GetType().Name}; only strings, booleans and integers are written", nameof(values));
                }
            }

            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
    }

    private static string FixOptional(string file) =>
        $"Fix the file or remove it ({file} is optional: without it the architecture's default special tokens are used).";
}

/// <summary>The keys of a folder's <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>, merged.</summary>
internal sealed class TokenizerSettings(IReadOnlyDictionary<string, (JsonElement Value, string File)> values)
{

    /// <summary>
    /// The token under <paramref name="key"/> (<c>"bos_token": "&lt;/s&gt;"</c>, or HF's object form with
    /// <c>content</c>); <paramref name="fallback"/> when absent or null.
    /// </summary>
    public string Token(string key, string fallback) => Value(key) switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString()!,
        { ValueKind: JsonValueKind.Object } token when token.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String =>
            content.GetString()!,
        { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => fallback,
        var other => throw Invalid(key, $"is a JSON {other.ValueKind}, not a token string or an object with 'content'"),
    };

    public bool Flag(string key, bool fallback) => Value(key) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => fallback,
        var other => throw Invalid(key, $"is a JSON {other.ValueKind}, not true or false"),
    };

    public int Count(string key, int fallback) => Value(key) switch
    {
        { ValueKind: JsonValueKind.Number } number when number.TryGetInt32(out var count) && count >= 0 => count,
        { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => fallback,
        var other => throw Invalid(key, $"is {other.GetRawText()}, not a count (an integer from 0)"),
    };

    private JsonElement Value(string key) => values.TryGetValue(key, out var entry) ? entry.Value : default;

    private TokenizerFileException Invalid(string key, string problem) => new(
        values[key].File,
        $"'{key}' {problem}",
        "Fix the value or remove the key to use the architecture's default.");
}
