using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;

namespace Trainer.Worker.Runners;

/// <summary><c>dataset.import</c> with <c>format: vqa</c>: one VQA split in LAVIS's VQAv2 format.</summary>
public sealed partial class DatasetImportRunner
{
    /// <summary>
    /// Commits the split as <c>vqa/NAME.json</c> (NAME from the annotation file's name, see <see cref="SplitName"/>),
    /// usable entries only, questions trimmed, answers as written, image paths under <c>images/</c>; an
    /// <c>answer_list.json</c> of its distinct answers, most frequent first; and a <c>vocab.txt</c> of its questions and
    /// answers (and the caption prompts' words, as for captions).
    /// </summary>
    private async Task<StageRunResult> ImportVqaAsync(StageRunContext context, DatasetImportOptions options, CancellationToken cancellationToken)
    {
        var annotationFile = guard.Resolve(options.Annotations, "annotations");
        var imageRoot = guard.Resolve(options.ImageRoot, "image_root");
        var annotations = VqaAnnotationReader.Read(
            annotationFile, imageRoot, BlipOptionsMapping.BadData(options.OnBadData), image => ImageDecoding.Check(guard.Resolve(image, "image")), cancellationToken);
        LogSkipped(context, annotations.Skipped);
        if (annotations.Samples.Count == 0)
        {
            throw new InvalidDataException(
                $"{options.Annotations}: no usable VQA entry ({annotations.Skipped.Count} skipped); the dataset would be empty");
        }

        var directory = Path.Combine(context.WorkDirectory, "dataset");
        await CopyImagesAsync(context, directory, annotations.ImageNames, annotations.ImagePaths, cancellationToken);

        var split = SplitName(options.Annotations);
        await VqaAnnotationWriter.WriteSplitAsync(directory, split, annotations.Samples.Select(sample =>
            new VqaAnnotationEntry(sample.QuestionId, sample.Question, sample.Answers, "images/" + annotations.ImageNames[sample.ImageId])
            {
                QuestionType = sample.QuestionType,
                AnswerType = sample.AnswerType,
            }), cancellationToken);
        var answers = annotations.Samples.SelectMany(sample => sample.Answers).ToList();
        await VqaAnnotationWriter.WriteAnswerListAsync(directory, [.. answers.GroupBy(answer => answer, StringComparer.Ordinal)
            .OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal).Select(group => group.Key)], cancellationToken);
        BlipVocabulary.Write(Path.Combine(directory, BlipVocabulary.FileName),
            BlipVocabulary.ForCaptions(annotations.Samples.Select(sample => sample.Question).Concat(answers)));

        var metrics = new Dictionary<string, double>
        {
            ["entries"] = annotations.Samples.Count,
            ["skipped"] = annotations.Skipped.Count,
            ["images"] = annotations.ImagePaths.Count,
            ["questions"] = annotations.Samples.Count,
            ["answers"] = answers.Count,
        };
        var dataset = await context.CommitOutputAsync("dataset", directory, metrics, cancellationToken);
        context.Logger.LogInformation("Imported VQA split {Split}: {Questions} questions ({Images} images, {Answers} answers), skipped {Skipped}, as {Artifact}",
            split, annotations.Samples.Count, annotations.ImagePaths.Count, answers.Count, annotations.Skipped.Count, dataset.Uri);
        return new StageRunResult { Outputs = new Dictionary<string, ArtifactReference> { ["dataset"] = dataset }, Metrics = metrics };
    }

    /// <summary>
    /// The split's name: the annotation file's name as given, without <c>.json</c>, every character other than a letter,
    /// a digit, '.', '_' or '-' made '_' (<c>/data/vqa/vqa_train.json</c> → <c>vqa_train</c>).
    /// </summary>
    internal static string SplitName(string annotations)
    {
        var name = new StringBuilder();
        foreach (var character in Path.GetFileNameWithoutExtension(annotations))
        {
            name.Append(char.IsAsciiLetterOrDigit(character) || character is '.' or '_' or '-' ? character : '_');
        }

        return name.Length == 0 || name.ToString().Trim('.').Length == 0 ? "split" : name.ToString();
    }
}
