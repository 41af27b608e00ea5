using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests;

/// <summary>
/// A model per task (LAVIS blip_caption, blip_retrieval beside blip_pretrain): each builds only what its objectives use,
/// trains only what they reach, and reports only its own losses through the one training loop.
/// </summary>
public sealed class TaskModelTests
{
    [Fact]
    public void The_captioner_has_no_momentum_encoders_queues_projections_or_itm_head_and_trains_only_what_lm_reaches()
    {
        using var model = new BlipCaptionModel(TinyBlip.Config(), TinyBlip.Tokens, 1, promptLength: 0);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);

        var output = model.call(batch);

        Assert.Same(output.LossLm, output.Loss);
        Assert.Equal([("lm", output.LossLm)], output.NamedLosses);
        Assert.Empty(output.GatheredAfterBackward);
        var names = model.state_dict().Keys.ToHashSet();
        Assert.DoesNotContain(names, name => name.EndsWith("_m", StringComparison.Ordinal) || name.Contains("_m.", StringComparison.Ordinal)
            || name.Contains("queue", StringComparison.Ordinal) || name.StartsWith("vision_proj", StringComparison.Ordinal)
            || name.StartsWith("text_proj", StringComparison.Ordinal) || name.StartsWith("itm_head", StringComparison.Ordinal) || name == "temp");
        var trainable = model.TrainableParameters().Select(entry => entry.Name).ToHashSet();
        Assert.Contains("visual_encoder.blocks.0.attn.qkv.weight", trainable);
        Assert.Contains("text_encoder.embeddings.word_embeddings.weight", trainable);
        Assert.Contains("text_encoder.encoder.layer.0.crossattention.self.key.weight", trainable);
        Assert.Contains("text_encoder.encoder.layer.0.intermediate.dense.weight", trainable);
        Assert.Contains("text_decoder.bert.encoder.layer.0.attention.self.query.weight", trainable);
        Assert.Contains("text_decoder.cls.predictions.transform.dense.weight", trainable);
        Assert.DoesNotContain("text_encoder.encoder.layer.0.attention.self.query.weight", trainable);

        // Every trainable parameter gets a gradient.
        output.Loss.backward();
        Assert.All(model.TrainableParameters(), entry => Assert.True(entry.Parameter.grad is not null, entry.Name));
    }

    [Fact]
    public void The_retrieval_model_has_no_decoder_and_computes_itc_and_itm()
    {
        using var model = new BlipRetrievalModel(TinyBlip.Config(), TinyBlip.Tokens, 1);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);

        var output = model.call(batch, 0.4);

        Assert.Equal(["itc", "itm"], output.NamedLosses.Select(loss => loss.Objective));
        Assert.Equal(2, output.GatheredAfterBackward.Count);
        Assert.Equal(output.LossItc.item<float>() + output.LossItm.item<float>(), output.Loss.item<float>(), 5);
        Assert.DoesNotContain(model.state_dict().Keys, name => name.StartsWith("text_decoder.", StringComparison.Ordinal));
        var trainable = model.TrainableParameters().Select(entry => entry.Name).ToHashSet();
        Assert.Contains("text_encoder.encoder.layer.0.attention.self.query.weight", trainable);
        Assert.Contains("itm_head.weight", trainable);
        Assert.Contains("temp", trainable);
        Assert.DoesNotContain(trainable, name => name.Contains("_m.", StringComparison.Ordinal));
        output.Loss.backward();
        Assert.All(model.TrainableParameters(), entry => Assert.True(entry.Parameter.grad is not null, entry.Name));
    }

    [Fact]
    public void The_prompt_is_not_a_target_of_the_lm_loss()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var logits = randn([2, 6, 10], generator: generator);
        var ids = tensor(new long[] { 4, 7, 8, 9, 5, 2, 4, 7, 8, 3, 2, 0 }, [2, 6]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, [2, 6]);

        // A prompt of 3 positions ([DEC] and two prompt tokens) leaves out the same targets as masking them.
        var withPrompt = BlipObjectives.LanguageModelling(logits, ids, mask, 0.1, promptLength: 3);
        var maskedOut = mask.clone();
        maskedOut.narrow(1, 0, 3).fill_(0);
        var byMask = BlipObjectives.LanguageModelling(logits, ids, maskedOut, 0.1);
        var whole = BlipObjectives.LanguageModelling(logits, ids, mask, 0.1);

        Assert.Equal(byMask.item<float>(), withPrompt.item<float>());
        Assert.NotEqual(whole.item<float>(), withPrompt.item<float>());
    }

    [Fact]
    public async Task A_caption_finetune_reports_only_lm_and_any_batch_size_fits_without_a_queue()
    {
        using var data = TrainingFixtures.Data();
        using var trainer = TrainingFixtures.Captioning(TinyBlip.Config(queueSize: 16), TrainingFixtures.Settings(epochs: 1), promptLength: 2);
        var reports = new List<StepReport>();

        // A batch of 3 would not divide a queue of 16: no matter without ITC.
        await trainer.TrainAsync(
            [TrainingFixtures.Shard(data.Batches, batchSize: 3, batchesPerEpoch: 3)],
            new TrainingHooks { StepCompleted = report => { reports.Add(report); return Task.CompletedTask; } });

        Assert.Equal(3, reports.Count);
        Assert.All(reports, report =>
        {
            var metrics = report.Metrics();
            Assert.Equal(report.LossOf("lm"), metrics["loss"]);
            Assert.False(metrics.ContainsKey("loss_itc") || metrics.ContainsKey("loss_itm") || metrics.ContainsKey("temp"));
        });
    }

    [Fact]
    public async Task A_retrieval_finetune_reports_itc_and_itm_and_fills_the_queue()
    {
        using var data = TrainingFixtures.Data();
        using var trainer = TrainingFixtures.Retrieval(TinyBlip.Config(queueSize: 16), TrainingFixtures.Settings(epochs: 1));
        var reports = new List<StepReport>();

        await trainer.TrainAsync(
            [TrainingFixtures.Shard(data.Batches, batchSize: 4, batchesPerEpoch: 2)],
            new TrainingHooks { StepCompleted = report => { reports.Add(report); return Task.CompletedTask; } });

        Assert.All(reports, report =>
        {
            Assert.Null(report.LossOf("lm"));
            Assert.Equal(report.LossOf("itc")!.Value + report.LossOf("itm")!.Value, report.Loss, 12);
            Assert.False(report.Metrics().ContainsKey("loss_lm"));
            Assert.True(report.Metrics().ContainsKey("temp"));
        });
        Assert.Equal(8, trainer.Model.QueuePointer);
    }
}
