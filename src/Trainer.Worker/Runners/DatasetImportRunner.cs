using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>dataset.import</c>: reads an annotation file against its image root, checks every entry under
/// <c>on_bad_data</c>, and commits a dataset artifact with the images copied under <c>images/</c> (keeping their paths
/// relative to the root) and a <c>vocab.txt</c> of its text. <c>format: caption</c> reads BLIP captions (the image exists
/// and decodes, the captions are non-empty) and writes a normalised <c>annotations.json</c> (usable entries only,
/// captions trimmed); <c>format: vqa</c> reads one VQA split in LAVIS's VQAv2 format (see <see cref="VqaAnnotationReader"/>)
/// and writes it as <c>vqa/NAME.json</c> with an <c>answer_list.json</c>; <c>format: nlvr2</c> reads one NLVR2 split in
/// BLIP's format (see <see cref="Nlvr2AnnotationReader"/>) and writes it as <c>nlvr2/NAME.json</c> (partial files). The annotation file, the image
/// root and every image are opened at their real paths, which must lie under the worker's import roots
/// (<see cref="ImportRootGuard"/>); an image that leaves them fails the run whatever <c>on_bad_data</c> says, since it is
/// a refusal, not bad data.
/// </summary>
public sealed partial class DatasetImportRunner(ImportRootGuard guard) : IStageRunner
{
    private const int ProgressEvery = 100;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Kind => "dataset.import";

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<DatasetImportOptions>();
        return options.Format switch
        {
            DatasetFormat.Vqa => ImportVqaAsync(context, options, cancellationToken),
            DatasetFormat.Nlvr2 => ImportNlvr2Async(context, options, cancellationToken),
            _ => ImportCaptionsAsync(context, options, cancellationToken),
        };
    }

    private async Task<StageRunResult> ImportCaptionsAsync(StageRunContext context, DatasetImportOptions options, CancellationToken cancellationToken)
    {
        var annotationFile = guard.Resolve(options.Annotations, "annotations");
        var imageRoot = guard.Resolve(options.ImageRoot, "image_root");
        var annotations = BlipAnnotationReader.Read(
            annotationFile, imageRoot, BlipOptionsMapping.BadData(options.OnBadData), image => ImageDecoding.Check(guard.Resolve(image, "image")), cancellationToken);
        LogSkipped(context, annotations.Skipped);
        if (annotations.Samples.Count == 0)
        {
            throw new InvalidDataException(
                $"{options.Annotations}: no usable entry ({annotations.Skipped.Count} skipped); the dataset would be empty");
        }

        var directory = Path.Combine(context.WorkDirectory, "dataset");
        await CopyImagesAsync(context, directory, annotations.ImageNames, annotations.ImagePaths, cancellationToken);

        var entries = annotations.Entries.Select(entry => new Dictionary<string, object>
        {
            ["image"] = "images/" + annotations.ImageNames[entry.ImageId],
            ["caption"] = entry.IsList ? entry.Captions : entry.Captions[0],
        }).ToList();
        await using (var stream = File.Create(Path.Combine(directory, BlipAnnotationReader.FileName)))
        {
            await JsonSerializer.SerializeAsync(stream, entries, Json, cancellationToken);
        }

        BlipVocabulary.Write(Path.Combine(directory, BlipVocabulary.FileName), BlipVocabulary.ForCaptions(annotations.Samples.Select(sample => sample.Caption)));

        var metrics = new Dictionary<string, double>
        {
            ["entries"] = annotations.Entries.Count,
            ["skipped"] = annotations.Skipped.Count,
            ["images"] = annotations.ImagePaths.Count,
            ["captions"] = annotations.Samples.Count,
        };
        var dataset = await context.CommitOutputAsync("dataset", directory, metrics, cancellationToken);
        context.Logger.LogInformation("Imported {Entries} entries ({Images} images, {Captions} captions), skipped {Skipped}, as {Artifact}",
            annotations.Entries.Count, annotations.ImagePaths.Count, annotations.Samples.Count, annotations.Skipped.Count, dataset.Uri);
        return new StageRunResult { Outputs = new Dictionary<string, ArtifactReference> { ["dataset"] = dataset }, Metrics = metrics };
    }

    private static void LogSkipped(StageRunContext context, IReadOnlyList<BadDataEntry> skipped)
    {
        foreach (var entry in skipped)
        {
            context.Logger.LogWarning("Skipped: {Entry}", entry);
        }
    }

    /// <summary>Copies each image to <c>images/NAME</c> under <paramref name="directory"/>, reporting progress in images.</summary>
    private static async Task CopyImagesAsync(
        StageRunContext context, string directory, IReadOnlyList<string> names, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var total = paths.Count;
        for (var i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(directory, "images", names[i]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(paths[i], target);
            if ((i + 1) % ProgressEvery == 0 || i + 1 == total)
            {
                await context.ReportProgressAsync(i + 1, total);
            }
        }
    }
}
