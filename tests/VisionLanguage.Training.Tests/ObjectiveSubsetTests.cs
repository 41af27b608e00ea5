using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests;

public sealed class ObjectiveSubsetTests
{
    [Fact]
    public void Lm_alone_computes_only_the_lm_loss_and_trains_only_what_it_reaches()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, 1, BlipObjectiveSet.Lm);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);

        var output = model.call(batch, 0.4);

        Assert.Null(output.LossItc);
        Assert.Null(output.LossItm);
        Assert.Null(output.ImageFeatM);
        Assert.Same(output.LossLm, output.Loss);
        var trainable = model.TrainableParameters().Select(entry => entry.Name).ToHashSet();
        Assert.Contains("visual_encoder.blocks.0.attn.qkv.weight", trainable);
        Assert.Contains("text_encoder.embeddings.word_embeddings.weight", trainable);
        Assert.Contains("text_encoder.encoder.layer.0.crossattention.self.key.weight", trainable);
        Assert.Contains("text_encoder.encoder.layer.0.intermediate.dense.weight", trainable);
        Assert.Contains("text_decoder.bert.encoder.layer.0.attention.self.query.weight", trainable);
        Assert.Contains("text_decoder.cls.predictions.transform.dense.weight", trainable);
        Assert.DoesNotContain("text_encoder.encoder.layer.0.attention.self.query.weight", trainable);
        Assert.DoesNotContain(trainable, name => name.StartsWith("vision_proj", StringComparison.Ordinal)
            || name.StartsWith("text_proj", StringComparison.Ordinal) || name.StartsWith("itm_head", StringComparison.Ordinal) || name == "temp");

        // Every trainable parameter gets a gradient, and nothing else does.
        output.Loss.backward();
        Assert.All(model.TrainableParameters(), entry => Assert.True(entry.Parameter.grad is not null, entry.Name));
    }

    [Fact]
    public void Itc_and_itm_compute_no_lm_loss_and_leave_the_decoder_alone()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, 1, BlipObjectiveSet.Itc | BlipObjectiveSet.Itm);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);

        var output = model.call(batch, 0.4);

        Assert.Null(output.LossLm);
        Assert.NotNull(output.ImageFeatM);
        Assert.Equal(output.LossItc!.item<float>() + output.LossItm!.item<float>(), output.Loss.item<float>(), 5);
        var trainable = model.TrainableParameters().Select(entry => entry.Name).ToHashSet();
        Assert.Contains("text_encoder.encoder.layer.0.attention.self.query.weight", trainable);
        Assert.Contains("itm_head.weight", trainable);
        Assert.Contains("temp", trainable);
        Assert.DoesNotContain(trainable, name => name.StartsWith("text_decoder.", StringComparison.Ordinal));
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
    public async Task A_caption_finetune_reports_only_lm_and_never_touches_the_momentum_encoders_or_queues()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1) with { Objectives = BlipObjectiveSet.Lm, LmPromptLength = 2 };
        using var trainer = new BlipTrainer(TinyBlip.Config(queueSize: 16), TinyBlip.Tokens, settings);
        var queueBefore = trainer.Model.Queues.Image.clone();
        var momentumBefore = trainer.Model.state_dict()["text_encoder_m.encoder.layer.0.attention.self.query.weight"].clone();
        var reports = new List<BlipStepReport>();

        // A batch of 3 does not divide the queue of 16: no matter without ITC.
        await trainer.TrainAsync(
            [TrainingFixtures.Shard(data.Batches, batchSize: 3, batchesPerEpoch: 3)],
            new BlipTrainingHooks { StepCompleted = report => { reports.Add(report); return Task.CompletedTask; } });

        Assert.Equal(3, reports.Count);
        Assert.All(reports, report =>
        {
            var metrics = report.Metrics();
            Assert.Equal(report.LossLm, metrics["loss"]);
            Assert.False(metrics.ContainsKey("loss_itc") || metrics.ContainsKey("loss_itm") || metrics.ContainsKey("temp"));
        });
        Assert.Equal(0, trainer.Model.QueuePointer);
        Assert.True(queueBefore.equal(trainer.Model.Queues.Image).all().item<bool>());
        Assert.True(momentumBefore.equal(trainer.Model.state_dict()["text_encoder_m.encoder.layer.0.attention.self.query.weight"]).all().item<bool>());
    }

    [Fact]
    public async Task A_retrieval_finetune_reports_itc_and_itm_and_fills_the_queue()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1) with { Objectives = BlipObjectiveSet.Itc | BlipObjectiveSet.Itm };
        using var trainer = new BlipTrainer(TinyBlip.Config(queueSize: 16), TinyBlip.Tokens, settings);
        var reports = new List<BlipStepReport>();

        await trainer.TrainAsync(
            [TrainingFixtures.Shard(data.Batches, batchSize: 4, batchesPerEpoch: 2)],
            new BlipTrainingHooks { StepCompleted = report => { reports.Add(report); return Task.CompletedTask; } });

        Assert.All(reports, report =>
        {
            Assert.Null(report.LossLm);
            Assert.Equal(report.LossItc!.Value + report.LossItm!.Value, report.Loss, 12);
            Assert.False(report.Metrics().ContainsKey("loss_lm"));
        });
        Assert.Equal(8, trainer.Model.QueuePointer);
    }
}
