using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
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
        // A retrieval finetune's output, or a pretrained model (and retrieval models of older code, written as such).
        var (config, tokens, tokenizer) = BlipCheckpointFolder.Read(
            directory, input, [BlipRetrievalModel.Format, BlipPretrainModel.Format], "bind a checkpoint written by a BLIP stage trained on datasets");
        var model = BlipCheckpointFolder.LoadWeights<BlipRetrievalModel, BlipPretrainBatch>(new BlipRetrievalModel(config, tokens, seed: 0, device: device), directory);
        return new BlipCheckpointModel(model, tokenizer);
    }

    public void Dispose() => Model.Dispose();
}
