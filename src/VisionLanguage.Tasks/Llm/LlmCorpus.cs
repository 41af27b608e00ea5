using VisionLanguage.Data;

namespace VisionLanguage.Tasks.Llm;

/// <summary>
/// The texts <c>llm.pretrain</c> learns from its training datasets: every caption, and every VQA question with its
/// answer (the one most annotators gave) in the zero-shot prompt's form (<see cref="VqaPrompts"/>), each once alone and
/// once after a caption of its image as an unlearned context (a caption after itself: the model learns to read what
/// precedes its text, which is where stage 2's soft prompt goes). Only training datasets are read, so a held-out
/// split's questions and captions are never seen and evaluation on them stays zero-shot.
/// </summary>
public static class LlmCorpus
{
    public static IReadOnlyList<LlmTextItem> Read(IReadOnlyList<string> folders, string architecture, BadDataPolicy badData)
    {
        var items = new List<LlmTextItem>();
        var captionOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in folders.Where(folder => File.Exists(BlipDatasetSource.Folder(folder).AnnotationFile)))
        {
            using var captions = BlipDataset.OpenFolder(folder, badData);
            foreach (var sample in captions.Samples)
            {
                items.Add(new LlmTextItem(sample.Caption));
                items.Add(new LlmTextItem(sample.Caption, Context: sample.Caption));
                captionOf.TryAdd(captions.ImagePaths[sample.ImageId], sample.Caption);
            }
        }

        var prompt = VqaPrompts.For(architecture);
        foreach (var folder in folders)
        {
            foreach (var split in VqaDataset.Splits(folder))
            {
                using var questions = VqaDataset.OpenFolder(folder, badData, split);
                foreach (var sample in questions.Samples)
                {
                    var source = VqaPrompts.Format(prompt, sample.Question);
                    var answer = MostCommon(sample.Answers);
                    items.Add(new LlmTextItem(source, answer));
                    if (captionOf.TryGetValue(questions.ImagePaths[sample.ImageId], out var caption))
                    {
                        items.Add(new LlmTextItem(source, answer, caption));
                    }
                }
            }
        }

        return items.Count > 0
            ? items
            : throw new InvalidDataException("the train datasets hold no captions and no VQA questions; bind datasets with annotations.json or vqa/ splits");
    }

    /// <summary>The answer most annotators gave; among equals, the first given.</summary>
    public static string MostCommon(IReadOnlyList<string> answers) =>
        answers.GroupBy(answer => answer, StringComparer.Ordinal).OrderByDescending(group => group.Count()).First().Key;
}

/// <summary>The zero-shot VQA prompts of the BLIP-2 paper (§4.1), by LLM architecture.</summary>
public static class VqaPrompts
{
    /// <summary>The decoder-only (OPT) prompt.</summary>
    public const string DecoderOnly = "Question: {} Answer:";

    /// <summary>The encoder-decoder (Flan-T5) prompt.</summary>
    public const string EncoderDecoder = "Question: {} Short answer:";

    public static string For(string architecture) => architecture == "t5" ? EncoderDecoder : DecoderOnly;

    public static string Format(string prompt, string question) => prompt.Replace("{}", question, StringComparison.Ordinal);
}
