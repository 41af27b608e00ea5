using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks;

/// <summary>
/// A BLIP stage's output checkpoint read back for inference: the shape and special ids in its <c>trainer_state.json</c>,
/// its <c>vocab.txt</c>, and then its weights into a model built from them, in eval mode.
/// </summary>
internal static class BlipCheckpointFolder
{
    /// <summary>
    /// The shape, special ids and tokenizer of the checkpoint in <paramref name="directory"/>, which must hold a model of
    /// one of <paramref name="formats"/>; <paramref name="input"/> names it in errors, <paramref name="bind"/> says what to
    /// bind instead.
    /// </summary>
    public static (BlipModelConfig Config, BlipSpecialTokens Tokens, BlipTokenizer Tokenizer) Read(
        string directory, string input, IReadOnlyList<string> formats, string bind)
    {
        var vocabulary = Path.Combine(directory, BlipVocabulary.FileName);
        if (!File.Exists(vocabulary))
        {
            throw new InvalidDataException($"{input} has no {BlipVocabulary.FileName}, so its token ids cannot be read; {bind}");
        }

        var state = CheckpointFiles.ReadState(directory, formats);
        var (config, tokens) = BlipCheckpointDescription.Read(state.Model, Path.Combine(directory, CheckpointFiles.State));
        var tokenizer = BlipTokenizer.FromVocabFile(vocabulary);
        if (tokenizer.VocabSize != config.Text.VocabSize)
        {
            throw new InvalidDataException(
                $"{input}: {BlipVocabulary.FileName} has {tokenizer.VocabSize} tokens but the model's word embedding has {config.Text.VocabSize} rows; the checkpoint is inconsistent, bind another");
        }

        return (config, tokens, tokenizer);
    }

    /// <summary>Loads the weights in <paramref name="directory"/> into <paramref name="model"/> and puts it in eval mode; disposes it when they do not load.</summary>
    public static TModel LoadWeights<TModel, TBatch>(TModel model, string directory)
        where TModel : TorchSharp.torch.nn.Module, ITrainableModel<TBatch>
    {
        try
        {
            model.LoadWeights(Path.Combine(directory, CheckpointFiles.Weights), WeightsLoading.StrictIgnoringExtra);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
