using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks;

/// <summary>
/// The model a finetune's input <c>init</c> holds: its shape and special ids, from the checkpoint's
/// <c>trainer_state.json</c>. Finetunes take their shape from here, not from options; only the image side may change
/// (the ViT's position embeddings are interpolated when the weights load).
/// </summary>
internal static class BlipInitCheckpoint
{
    /// <summary>
    /// The shape of <paramref name="init"/> at <paramref name="imageSize"/> pixels, checked against the patch side and
    /// (when given) the vocabulary the run tokenizes with.
    /// </summary>
    public static (BlipModelConfig Model, BlipSpecialTokens Tokens) Read(InputFolder? init, int imageSize, int? vocabSize = null)
    {
        if (init is null)
        {
            throw new InvalidOperationException("a finetune needs input init, the checkpoint it starts from; bind it to a blip.pretrain stage's output");
        }

        var name = $"input init ({init.Name})";
        var (model, tokens) = BlipCheckpointDescription.Read(CheckpointFiles.ReadState(init.Directory).Model, name);
        if (imageSize % model.Vision.PatchSize != 0)
        {
            throw new ArgumentException(
                $"image_size {imageSize} is not a multiple of the patch side {model.Vision.PatchSize} of {name}; use a multiple such as {model.Vision.ImageSize}");
        }

        if (vocabSize is { } size && size != model.Text.VocabSize)
        {
            throw new InvalidDataException(
                $"{name} embeds {model.Text.VocabSize} tokens, but the run tokenizes with {size} (the checkpoint's {BlipVocabulary.FileName}, or the datasets' words when it has none); bind a checkpoint written by a BLIP stage, with its vocabulary");
        }

        return (model with { Vision = model.Vision with { ImageSize = imageSize } }, tokens);
    }

    /// <summary>The tokens (id = line) of <paramref name="init"/>'s <c>vocab.txt</c>; an error naming the fix when it has none.</summary>
    public static IReadOnlyList<string> Vocabulary(InputFolder init)
    {
        var path = Path.Combine(init.Directory, BlipVocabulary.FileName);
        if (!File.Exists(path))
        {
            throw new InvalidDataException(
                $"input init ({init.Name}) has no {BlipVocabulary.FileName}, so its token ids cannot be read; bind the checkpoint output of a blip.pretrain stage");
        }

        return File.ReadAllLines(path, System.Text.Encoding.UTF8);
    }
}
