using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Import;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// The optional input <c>text_init</c> of stage 1: an imported BERT (<c>model.import</c>, architecture bert) or the text
/// encoder of a BLIP checkpoint. It fixes the Q-Former's width, layers, heads, feed-forward width and positions, and
/// its vocabulary (the encoder's, with BLIP's <c>[DEC]</c> and <c>[ENC]</c> appended when missing, as BLIP's tokenizer
/// adds them to BERT's), and its weights start the Q-Former's text side (<see cref="QFormerTextInit"/>).
/// </summary>
public sealed class Blip2TextInitInput
{
    private readonly string _weights;
    private readonly IReadOnlyList<(string Prefix, string Replacement)> _names;

    private Blip2TextInitInput(string source, QFormerConfig shape, IReadOnlyList<string> vocabulary, string weights, IReadOnlyList<(string, string)> names)
    {
        Source = source;
        Shape = shape;
        Vocabulary = vocabulary;
        _weights = weights;
        _names = names;
    }

    /// <summary>The input as error messages name it.</summary>
    public string Source { get; }

    /// <summary>The Q-Former's shape from the encoder: hidden size, layers, heads, feed-forward width, positions, LayerNorm epsilon.</summary>
    public QFormerConfig Shape { get; }

    /// <summary>The tokens of the Q-Former's vocabulary, one per id.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    public static Blip2TextInitInput Load(InputFolder input)
    {
        var source = $"input text_init ({input.Name})";
        if (ImportedModelDescription.TryRead(input.Directory) is { } imported)
        {
            var text = imported.Text ?? throw new InvalidDataException(
                $"{source} is an imported {imported.Architecture} model, not a text encoder; bind a model.import of architecture bert, or a BLIP checkpoint");
            var shape = new QFormerConfig
            {
                HiddenSize = text.HiddenSize,
                Layers = text.Layers,
                Heads = text.Heads,
                IntermediateSize = text.IntermediateSize,
                MaxPositionEmbeddings = text.MaxPositionEmbeddings,
                LayerNormEps = text.LayerNormEps,
            };
            var words = File.ReadAllLines(Path.Combine(input.Directory, BertImport.Vocabulary));
            var vocabulary = words.Concat(new[] { BlipTokenizer.DecToken, BlipTokenizer.EncToken }.Except(words)).ToList();
            return new Blip2TextInitInput(source, shape, vocabulary, Path.Combine(input.Directory, CheckpointImport.WeightsFile), [("", "")]);
        }

        var (model, _) = BlipCheckpointDescription.Read(CheckpointFiles.ReadState(input.Directory).Model, source);
        var medShape = new QFormerConfig
        {
            HiddenSize = model.Text.HiddenSize,
            Layers = model.Text.Layers,
            Heads = model.Text.Heads,
            IntermediateSize = model.Text.IntermediateSize,
            MaxPositionEmbeddings = model.Text.MaxPositionEmbeddings,
            LayerNormEps = model.Text.LayerNormEps,
        };
        // BLIP's decoder carries the LM head; a retrieval checkpoint has none, and the Q-Former's then starts fresh.
        return new Blip2TextInitInput(
            source, medShape, File.ReadAllLines(Path.Combine(input.Directory, BlipVocabulary.FileName)),
            Path.Combine(input.Directory, CheckpointFiles.Weights), [("text_encoder.", ""), ("text_decoder.cls.", "cls.")]);
    }

    /// <summary><paramref name="config"/> with the encoder's shape and vocabulary size.</summary>
    public QFormerConfig ShapeOf(QFormerConfig config) => config with
    {
        HiddenSize = Shape.HiddenSize,
        Layers = Shape.Layers,
        Heads = Shape.Heads,
        IntermediateSize = Shape.IntermediateSize,
        MaxPositionEmbeddings = Shape.MaxPositionEmbeddings,
        LayerNormEps = Shape.LayerNormEps,
        VocabSize = Vocabulary.Count,
    };

    /// <summary>Starts <paramref name="model"/>'s text side from the encoder's weights; returns how many Q-Former tensors were written.</summary>
    public int ApplyTo(Blip2Stage1Model model)
    {
        var tensors = QFormerTextInit.ReadRenamed(_weights, _names);
        try
        {
            return QFormerTextInit.Apply(model, tensors, Source).Count;
        }
        finally
        {
            foreach (var tensor in tensors.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
