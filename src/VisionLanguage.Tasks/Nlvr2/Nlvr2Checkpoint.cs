using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Nlvr2;

/// <summary>A <c>blip.finetune.nlvr2</c> output read back for inference: the model and its tokenizer, in eval mode.</summary>
public sealed class Nlvr2Checkpoint : IDisposable
{
    private Nlvr2Checkpoint(BlipNlvr2Model model, BlipTokenizer tokenizer)
    {
        Model = model;
        Tokenizer = tokenizer;
    }

    public BlipNlvr2Model Model { get; }

    public BlipTokenizer Tokenizer { get; }

    /// <summary>
    /// Loads the NLVR2 model in <paramref name="directory"/> onto <paramref name="device"/> (the CPU when null);
    /// <paramref name="input"/> names it in errors.
    /// </summary>
    public static Nlvr2Checkpoint Load(string directory, string input, Device? device = null)
    {
        var (config, tokens, tokenizer) = BlipCheckpointFolder.Read(directory, input, [BlipNlvr2Model.Format], "bind the output of a blip.finetune.nlvr2 stage");
        var model = BlipCheckpointFolder.LoadWeights<BlipNlvr2Model, BlipNlvr2Batch>(new BlipNlvr2Model(config, tokens, seed: 0, device), directory);
        return new Nlvr2Checkpoint(model, tokenizer);
    }

    public void Dispose() => Model.Dispose();
}
