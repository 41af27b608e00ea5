using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>dataset.import</c>: reads a BLIP annotation file against its image root, checks every entry (the image
/// exists and decodes, the captions are non-empty) under <c>on_bad_data</c>, and commits a dataset artifact: the
/// images copied under <c>images/</c> (keeping their paths relative to the root), a normalised
/// <c>annotations.json</c> (usable entries only, captions trimmed) and a <c>vocab.txt</c> of its captions. The
/// annotation file, the image root and every image are opened at their real paths, which must lie under the
/// worker's import roots (<see cref="ImportRootGuard"/>); an image that leaves them fails the run whatever
/// <c>on_bad_data</c> says, since it is a refusal, not bad data.
/// </summary>
public sealed class DatasetImportRunner(ImportRootGuard guard) : IStageRunner
{
    private const int ProgressEvery = 100;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Kind => "dataset.import";

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<DatasetImportOptions>();
        var annotationFile = guard.Resolve(options.Annotations, "annotations");
        var imageRoot = guard.Resolve(options.ImageRoot, "image_root");
        var annotations = BlipAnnotationReader.Read(
            annotationFile, imageRoot, BlipOptionsMapping.BadData(options.OnBadData), image => ImageDecoding.Check(guard.Resolve(image, "image")), cancellationToken);
        foreach (var skipped in annotations.Skipped)
        {
            context.Logger.LogWarning("Skipped: {Entry}", skipped);
        }

        if (annotations.Samples.Count == 0)
        {
            throw new InvalidDataException(
                $"{options.Annotations}: no usable entry ({annotations.Skipped.Count} skipped); the dataset would be empty");
        }

        var directory = Path.Combine(context.WorkDirectory, "dataset");
        var total = annotations.ImagePaths.Count;
        for (var i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(directory, "images", annotations.ImageNames[i]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(annotations.ImagePaths[i], target);
            if ((i + 1) % ProgressEvery == 0 || i + 1 == total)
            {
                await context.ReportProgressAsync(i + 1, total);
            }
        }

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
}
