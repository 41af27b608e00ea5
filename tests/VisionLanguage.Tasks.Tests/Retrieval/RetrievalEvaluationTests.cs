using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Testing;

namespace VisionLanguage.Tasks.Tests.Retrieval;

public sealed class RetrievalEvaluationTests
{
    [Fact]
    public void Recall_is_reported_for_both_directions_and_grows_with_k()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();

        var batches = Enumerable.Range(0, 3).Select(i => data.Batch(4, 9_000 + i)).ToList();
        var images = batches.SelectMany(batch => batch.ImageIds).Distinct().Count();

        var metrics = BlipRetrievalEvaluation.Evaluate(model, batches, topK: 4);

        Assert.Equal(images, metrics.Images);
        Assert.Equal(12, metrics.Texts);
        Assert.True(metrics.ImageToTextR1 <= metrics.ImageToTextR5 && metrics.ImageToTextR5 <= metrics.ImageToTextR10);
        Assert.True(metrics.TextToImageR1 <= metrics.TextToImageR5 && metrics.TextToImageR5 <= metrics.TextToImageR10);
        // At most six images: every text finds its image within ten candidates.
        Assert.Equal(1.0, metrics.TextToImageR10);
        Assert.True(model.training);
    }
}
