using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;

namespace Trainer.Worker.Runners;

/// <summary><c>dataset.import</c> with <c>format: nlvr2</c>: one NLVR2 split in BLIP's format.</summary>
public sealed partial class DatasetImportRunner
{
    /// <summary>
    /// Commits the split as <c>nlvr2/NAME.json</c> (NAME from the annotation file's name, see <see cref="SplitName"/>),
    /// usable entries only, sentences trimmed, labels written "True" or "False", image paths under <c>images/</c>; and a
    /// <c>vocab.txt</c> of its statements (and the caption prompts' words, as for captions).
    /// </summary>
    private async Task<StageRunResult> ImportNlvr2Async(StageRunContext context, DatasetImportOptions options, CancellationToken cancellationToken)
    {
        var annotationFile = guard.Resolve(options.Annotations, "annotations");
        var imageRoot = guard.Resolve(options.ImageRoot, "image_root");
        var annotations = Nlvr2AnnotationReader.Read(
            annotationFile, imageRoot, BlipOptionsMapping.BadData(options.OnBadData), image => ImageDecoding.Check(guard.Resolve(image, "image")), cancellationToken);
        LogSkipped(context, annotations.Skipped);
        if (annotations.Samples.Count == 0)
        {
            throw new InvalidDataException(
                $"{options.Annotations}: no usable NLVR2 entry ({annotations.Skipped.Count} skipped); the dataset would be empty");
        }

        var directory = Path.Combine(context.WorkDirectory, "dataset");
        await CopyImagesAsync(context, directory, annotations.ImageNames, annotations.ImagePaths, cancellationToken);

        var split = SplitName(options.Annotations);
        await Nlvr2AnnotationWriter.WriteSplitAsync(directory, split, annotations.Samples.Select(sample => new Nlvr2AnnotationEntry(
            ["images/" + annotations.ImageNames[sample.LeftImageId], "images/" + annotations.ImageNames[sample.RightImageId]],
            sample.Sentence,
            Nlvr2AnnotationEntry.LabelText(sample.Label))
        {
            Kind = sample.Kind,
        }), cancellationToken);
        BlipVocabulary.Write(Path.Combine(directory, BlipVocabulary.FileName), BlipVocabulary.ForCaptions(annotations.Samples.Select(sample => sample.Sentence)));

        var trues = annotations.Samples.Count(sample => sample.Label);
        var metrics = new Dictionary<string, double>
        {
            ["entries"] = annotations.Samples.Count,
            ["skipped"] = annotations.Skipped.Count,
            ["images"] = annotations.ImagePaths.Count,
            ["nlvr2_examples"] = annotations.Samples.Count,
            ["nlvr2_true"] = trues,
        };
        var dataset = await context.CommitOutputAsync("dataset", directory, metrics, cancellationToken);
        context.Logger.LogInformation("Imported NLVR2 split {Split}: {Examples} statements ({True} true, {Images} images), skipped {Skipped}, as {Artifact}",
            split, annotations.Samples.Count, trues, annotations.ImagePaths.Count, annotations.Skipped.Count, dataset.Uri);
        return new StageRunResult { Outputs = new Dictionary<string, ArtifactReference> { ["dataset"] = dataset }, Metrics = metrics };
    }
}
