using System.Text.Encodings.Web;
using System.Text.Json;
using VisionLanguage.Data;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// Writes the bootstrapped dataset of <c>blip.capfilt</c> as a dataset artifact folder that the data loader reads on its
/// own: <c>annotations.json</c> (BLIP format, one entry per kept pair), a copy of every image a kept pair shows under
/// its path in the web dataset, and <c>vocab.txt</c> (the web dataset's, else the filter's), so a model pretrained
/// again on it tokenises captions as before.
/// </summary>
public static class CapfiltDatasetWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(string directory, IReadOnlyList<CapfiltCandidate> kept, string webFolder, string vocabularyFile)
    {
        Directory.CreateDirectory(directory);
        foreach (var image in kept.Select(candidate => candidate.Image).Distinct(StringComparer.Ordinal))
        {
            var source = Path.Combine(webFolder, image);
            if (!File.Exists(source))
            {
                throw new InvalidDataException(
                    $"the scores name image '{image}', which input 'web' does not have; bind the web dataset the scores were computed on");
            }

            var target = Path.Combine(directory, image);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
        }

        var entries = kept.Select(candidate => new Dictionary<string, string> { ["image"] = candidate.Image, ["caption"] = candidate.Caption }).ToList();
        File.WriteAllText(Path.Combine(directory, BlipAnnotationReader.FileName), JsonSerializer.Serialize(entries, Json));
        File.Copy(vocabularyFile, Path.Combine(directory, BlipVocabulary.FileName));
    }
}
