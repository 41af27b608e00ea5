namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// The tokenizer of a frozen LLM, with its architecture's convention for special tokens: <see cref="OptTokenizer"/>
/// (byte-level BPE, BOS in front) or <see cref="T5Tokenizer"/> (SentencePiece, EOS at the end). Loaded from a folder in
/// HF's layout (the files an HF tokenizer saves), as <c>model.import</c> copies it or the trainers here write it.
/// Thread-safe.
/// </summary>
public abstract class LlmTokenizer
{
    /// <summary>OPT-architecture tokenizer: <c>vocab.json</c> + <c>merges.txt</c>.</summary>
    public const string Opt = "opt";

    /// <summary>T5 (v1.1, Flan-T5) tokenizer: <c>spiece.model</c>.</summary>
    public const string T5 = "t5";

    public static IReadOnlyList<string> Architectures { get; } = [Opt, T5];

    // The architectures are this library's to add: Load dispatches over them.
    private protected LlmTokenizer()
    {
    }

    /// <summary><see cref="Opt"/> or <see cref="T5"/>.</summary>
    public abstract string Architecture { get; }

    /// <summary>The id put in front of every encoding; null where the architecture has none (T5).</summary>
    public abstract long? BosId { get; }

    /// <summary>The id that ends a sequence (T5 appends it to every encoding; OPT's generation stops at it).</summary>
    public abstract long EosId { get; }

    /// <summary>The id that pads a batch (T5's decoder also starts from it).</summary>
    public abstract long PadId { get; }

    /// <summary>The id of text the vocabulary cannot spell.</summary>
    public abstract long UnkId { get; }

    /// <summary>How many ids the tokenizer can emit (the largest plus one): at most the LLM's embedding rows.</summary>
    public abstract int VocabularySize { get; }

    /// <summary>The ids <see cref="Decode"/> leaves out: BOS, EOS, padding, unknown and any other special token.</summary>
    public abstract IReadOnlySet<long> SpecialIds { get; }

    /// <summary>The ids of <paramref name="text"/>, with the architecture's special tokens; not truncated, not padded.</summary>
    public abstract long[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>, special tokens left out.</summary>
    public abstract string Decode(IEnumerable<long> ids);

    /// <summary>
    /// The tokenizer of <paramref name="architecture"/> (<see cref="Opt"/> or <see cref="T5"/>) in <paramref name="folder"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="architecture"/> is neither.</exception>
    /// <exception cref="TokenizerFileException">A file is missing, unreadable or malformed.</exception>
    public static LlmTokenizer Load(string folder, string architecture) => architecture switch
    {
        Opt => OptTokenizer.Load(folder),
        T5 => T5Tokenizer.Load(folder),
        _ => throw new ArgumentException(
            $"tokenizer architecture '{architecture}' is not known; use one of {string.Join(", ", Architectures)}", nameof(architecture)),
    };

    /// <summary>Whether <paramref name="id"/> stands for text: in the vocabulary and not special.</summary>
    private protected bool IsText(long id) => id >= 0 && id < VocabularySize && !SpecialIds.Contains(id);
}
