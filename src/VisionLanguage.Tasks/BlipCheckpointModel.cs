using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks;

/// <summary>
/// A trained BLIP image-text model (ITC and ITM: the retrieval model, CapFilt's filter) read back from a stage's output checkpoint (weights, <c>trainer_state.json</c> and
/// <c>vocab.txt</c>) for inference, with the tokenizer it was trained with; in eval mode.
/// </summary>
public sealed class BlipCheckpointModel : IDisposable
{
    private BlipCheckpointModel(BlipRetrievalModel model, BlipTokenizer tokenizer)
    {
        Model = model;
        Tokenizer = tokenizer;
    }

    public BlipRetrievalModel Model { get; }

    public BlipTokenizer Tokenizer { get; }

    /// <summary>
    /// Loads the checkpoint in <paramref name="directory"/> onto <paramref name="device"/> (the CPU when null);
    /// <paramref name="input"/> names it in errors (e.g. "input 'filter'").
    /// </summary>
    public static BlipCheckpointModel Load(string directory, string input, Device? device = null)
    {
        var vocabulary = Path.Combine(directory, BlipVocabulary.FileName);
        if (!File.Exists(vocabulary))
        {
            throw new InvalidDataException(
                $"{input} has no {BlipVocabulary.FileName}, so its token ids cannot be read; bind a checkpoint written by a BLIP stage trained on datasets");
        }

        // A retrieval finetune's output, or a pretrained model (and retrieval models of older code, written as such).
        var state = CheckpointFiles.ReadState(directory, [BlipRetrievalModel.Format, BlipPretrainModel.Format]);
        var (config, tokens) = BlipCheckpointDescription.Read(state.Model, Path.Combine(directory, CheckpointFiles.State));
        var tokenizer = BlipTokenizer.FromVocabFile(vocabulary);
        if (tokenizer.VocabSize != config.Text.VocabSize)
        {
            throw new InvalidDataException(
                $"{input}: {BlipVocabulary.FileName} has {tokenizer.VocabSize} tokens but the model's word embedding has {config.Text.VocabSize} rows; the checkpoint is inconsistent, bind another");
        }

        var model = new BlipRetrievalModel(config, tokens, seed: 0, device: device);
        try
        {
            model.LoadWeights(Path.Combine(directory, CheckpointFiles.Weights), WeightsLoading.StrictIgnoringExtra);
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
