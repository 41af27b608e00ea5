using TorchSharp.Modules;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests;

public sealed class ScheduleAndOptimizerTests
{
    [Fact]
    public void Warmup_rises_linearly_from_the_minimum_then_cosine_reaches_the_minimum_at_the_last_step()
    {
        var schedule = new LearningRateScheduler(peak: 1.0, minimum: 0.1, warmupSteps: 4, totalSteps: 14, LearningRateSchedule.Cosine);

        Assert.Equal(0.1, schedule.At(0, 0), 12);
        Assert.Equal(0.55, schedule.At(2, 0), 12);
        Assert.Equal(1.0, schedule.At(4, 0), 12);
        Assert.Equal(0.55, schedule.At(9, 0), 12);
        Assert.Equal(0.1, schedule.At(14, 1), 12);
    }

    [Fact]
    public void Step_decay_multiplies_by_point_nine_per_epoch_down_to_the_minimum()
    {
        var schedule = new LearningRateScheduler(peak: 1.0, minimum: 0.5, warmupSteps: 0, totalSteps: 100, LearningRateSchedule.Step);

        Assert.Equal(1.0, schedule.At(10, 0), 12);
        Assert.Equal(0.81, schedule.At(50, 2), 12);
        Assert.Equal(0.5, schedule.At(90, 9), 12);
    }

    [Fact]
    public void AdamW_matches_pytorch_arithmetic_and_skips_decay_where_lavis_does()
    {
        using var scope = NewDisposeScope();
        var weight = new Parameter(tensor(new[] { 1.0, -2.0, 3.0, 0.5 }, 2, 2));
        var bias = new Parameter(tensor(new[] { 0.25, -0.25 }));
        using var optimizer = new NamedAdamW([("layer.weight", weight), ("layer.bias", bias)], weightDecay: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8);
        double[][] gradients = [[0.1, -0.2, 0.3, 0.0], [1.0, -1.0, 0.5, 2.0]];

        double[] expected = [1.0, -2.0, 3.0, 0.5];
        double[] m = new double[4], v = new double[4];
        for (var step = 1; step <= 2; step++)
        {
            const double lr = 0.01;
            weight.grad = tensor(gradients[step - 1], 2, 2);
            bias.grad = tensor(new[] { 1.0, 1.0 });
            optimizer.Step(lr);
            for (var i = 0; i < 4; i++)
            {
                var g = gradients[step - 1][i];
                expected[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.99 * v[i] + 0.01 * g * g;
                var denominator = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(0.99, step)) + 1e-8;
                expected[i] -= lr / (1 - Math.Pow(0.9, step)) * m[i] / denominator;
            }
        }

        var actual = weight.detach().reshape(-1).data<double>().ToArray();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], actual[i], 12);
        }

        // Biases (and anything of fewer than two dimensions) get no weight decay: two Adam steps of a constant gradient.
        Assert.Equal(0.25 - 0.02, bias.detach()[0].item<double>(), 6);
        Assert.Equal(["layer.bias"], optimizer.NamesWithoutDecay);
        Assert.Equal(2, optimizer.StepCount);
    }

    [Fact]
    public void Lavis_decay_groups_exclude_norms_biases_and_the_temperature()
    {
        using var model = TinyBlip.Model();
        using var optimizer = new NamedAdamW(model.TrainableParameters(), weightDecay: 0.05);
        var exempt = optimizer.NamesWithoutDecay.ToHashSet();

        Assert.Contains("temp", exempt);
        Assert.Contains("visual_encoder.norm.weight", exempt);
        Assert.Contains("text_encoder.encoder.layer.0.attention.self.query.bias", exempt);
        Assert.DoesNotContain("text_encoder.embeddings.word_embeddings.weight", exempt);
        Assert.DoesNotContain("visual_encoder.pos_embed", exempt);
    }
}
