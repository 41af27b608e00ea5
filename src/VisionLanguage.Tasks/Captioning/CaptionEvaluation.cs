using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>
/// Captions every image of a dataset (whole images resized, as evaluation does) with a captioner (BLIP's <see cref="CaptionGenerator"/>, BLIP-2's Q-Former)
/// and scores the first caption of each against all of the image's captions in the dataset.
/// </summary>
public static class CaptionEvaluation
{
    /// <param name="generator">The captioner and its decoding.</param>
    /// <param name="dataset">Images and their reference captions.</param>
    /// <param name="imageSize">Side the images are resized to.</param>
    /// <param name="batchSize">Images captioned at once.</param>
    /// <param name="sampling">The draws of nucleus sampling; unused by the searches.</param>
    /// <param name="samples">Images kept as <see cref="CaptionEvaluationResult.Samples"/>.</param>
    /// <param name="pulse">Beats before each batch.</param>
    public static CaptionEvaluationResult Evaluate(
        IImageCaptioner generator, BlipDataset dataset, int imageSize, int batchSize, Generator? sampling, int samples, TaskPulse pulse)
    {
        var references = dataset.Samples.GroupBy(sample => sample.ImageId).OrderBy(group => group.Key)
            .Select(group => (ImageId: group.Key, Captions: (IReadOnlyList<string>)[.. group.Select(sample => sample.Caption)]))
            .ToList();
        var transform = ImageTransform.Eval(imageSize);
        var generated = new List<string>(references.Count);
        foreach (var chunk in references.Chunk(batchSize))
        {
            pulse.Beat();
            using var scope = NewDisposeScope();
            var images = dataset.LoadImages([.. chunk.Select(entry => entry.ImageId)], transform);
            generated.AddRange(generator.Generate(images, sampling).Select(captions => captions[0]));
        }

        var candidates = generated;
        var referenceLists = references.Select(entry => entry.Captions).ToList();
        var bleu = Bleu.Corpus(candidates, referenceLists);
        var cider = CiderD.Score(candidates, referenceLists);
        var kept = references.Take(samples)
            .Select((entry, index) => new CaptionSample(Path.GetFileName(dataset.ImagePaths[entry.ImageId]), entry.Captions, generated[index]))
            .ToList();
        return new CaptionEvaluationResult(references.Count, bleu.Bleu4, cider.Mean, kept);
    }
}
