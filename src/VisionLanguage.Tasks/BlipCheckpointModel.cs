using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Weights;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks;

/// <summary>
/// A trained BLIP model read back from a stage's output checkpoint (weights, <c>trainer_state.json</c> and
/// <c>vocab.txt</c>) for inference, with the tokenizer it was trained with; in eval mode.
/// </summary>
public sealed class BlipCheckpointModel : IDisposable
{
    private BlipCheckpointModel(BlipPretrainModel model, BlipTokenizer tokenizer)
    {
        Model = model;
        Tokenizer = tokenizer;
    }

    public BlipPretrainModel Model { get; }

    public BlipTokenizer Tokenizer { get; }

    /// <summary>Loads the checkpoint in <paramref name="directory"/>; <paramref name="input"/> names it in errors (e.g. "input 'filter'").</summary>
    public static BlipCheckpointModel Load(string directory, string input)
    {
        var vocabulary = Path.Combine(directory, BlipVocabulary.FileName);
        if (!File.Exists(vocabulary))
        {
            throw new InvalidDataException(
                $"{input} has no {BlipVocabulary.FileName}, so its token ids cannot be read; bind a checkpoint written by a BLIP stage trained on datasets");
        }

        var state = BlipCheckpointFiles.ReadState(directory);
        var tokenizer = BlipTokenizer.FromVocabFile(vocabulary);
        if (tokenizer.VocabSize != state.Model.Text.VocabSize)
        {
            throw new InvalidDataException(
                $"{input}: {BlipVocabulary.FileName} has {tokenizer.VocabSize} tokens but the model's word embedding has {state.Model.Text.VocabSize} rows; the checkpoint is inconsistent, bind another");
        }

        var model = new BlipPretrainModel(state.Model, state.Tokens, seed: 0);
        try
        {
            BlipWeights.Load(model, Path.Combine(directory, BlipCheckpointFiles.Weights), strict: true);
            model.eval();
            return new BlipCheckpointModel(model, tokenizer);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose() => Model.Dispose();
}
