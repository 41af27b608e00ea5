using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Running;
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

    [Fact]
    public void The_pulse_beats_once_per_encoded_batch_and_once_per_reranked_query_and_does_not_change_the_metrics()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        var progress = new CountingProgress();

        var plain = BlipRetrievalEvaluation.Evaluate(model, Enumerable.Range(0, 3).Select(i => data.Batch(4, 9_000 + i)).ToList(), topK: 4);
        var beaten = BlipRetrievalEvaluation.Evaluate(
            model, Enumerable.Range(0, 3).Select(i => data.Batch(4, 9_000 + i)).ToList(), topK: 4, new TaskPulse(progress, CancellationToken.None));

        Assert.Equal(plain, beaten);
        Assert.Equal(3 + beaten.Images + beaten.Texts, progress.Beats);
    }

    [Fact]
    public void A_cancelled_pulse_stops_the_evaluation_at_the_next_unit()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        var progress = new CountingProgress();
        using var stop = new CancellationTokenSource();
        stop.Cancel();

        Assert.Throws<OperationCanceledException>(() => BlipRetrievalEvaluation.Evaluate(
            model, Enumerable.Range(0, 3).Select(i => data.Batch(4, 9_000 + i)).ToList(), topK: 4, new TaskPulse(progress, stop.Token)));
        Assert.Equal(0, progress.Beats);
        Assert.True(model.training);
    }

    private sealed class CountingProgress : ITaskProgress
    {
        public int Beats { get; private set; }

        public Task ReportAsync(TaskProgress progress) => Task.CompletedTask;

        public void Beat() => Beats++;
    }
}
