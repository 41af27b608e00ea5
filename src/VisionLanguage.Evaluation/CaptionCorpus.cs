namespace VisionLanguage.Evaluation;

/// <summary>Checks shared by the caption metrics.</summary>
internal static class CaptionCorpus
{
    public static void Check(IReadOnlyList<string> candidates, IReadOnlyList<IReadOnlyList<string>> references)
    {
        if (candidates.Count != references.Count)
        {
            throw new ArgumentException($"{candidates.Count} candidate captions for {references.Count} images' references; give one candidate per image");
        }

        if (candidates.Count == 0)
        {
            throw new ArgumentException("no captions to score; the evaluation split is empty");
        }

        var bare = references.Select((refs, image) => (refs, image)).FirstOrDefault(entry => entry.refs.Count == 0);
        if (bare.refs is not null)
        {
            throw new ArgumentException($"image {bare.image} has no reference caption; every evaluated image needs at least one");
        }
    }
}
