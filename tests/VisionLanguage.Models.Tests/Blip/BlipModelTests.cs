using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class BlipModelTests
{
    [Fact]
    public void Checkpoint_names_and_shapes_follow_lavis_blip_pretrain()
    {
        using var model = TinyBlip.Model();
        var state = model.state_dict();
        var shapes = state.ToDictionary(entry => entry.Key, entry => entry.Value.shape);

        Assert.Equal([32L, 3, 8, 8], shapes["visual_encoder.patch_embed.proj.weight"]);
        Assert.Equal([1L, 1, 32], shapes["visual_encoder.cls_token"]);
        Assert.Equal([1L, 5, 32], shapes["visual_encoder.pos_embed"]);
        Assert.Equal([96L, 32], shapes["visual_encoder.blocks.0.attn.qkv.weight"]);
        Assert.Equal([128L, 32], shapes["visual_encoder.blocks.0.mlp.fc1.weight"]);
        Assert.Equal([32L], shapes["visual_encoder.norm.weight"]);
        Assert.Equal([40L, 32], shapes["text_encoder.embeddings.word_embeddings.weight"]);
        Assert.Equal([1L, 16], shapes["text_encoder.embeddings.position_ids"]);
        Assert.Equal([32L], shapes["text_encoder.embeddings.LayerNorm.weight"]);
        Assert.Equal([32L, 32], shapes["text_encoder.encoder.layer.0.attention.self.query.weight"]);
        Assert.Equal([32L, 32], shapes["text_encoder.encoder.layer.0.crossattention.self.key.weight"]);
        Assert.Equal([32L], shapes["text_encoder.encoder.layer.0.attention.output.LayerNorm.bias"]);
        Assert.Equal([64L, 32], shapes["text_encoder.encoder.layer.0.intermediate.dense.weight"]);
        Assert.Equal([32L, 64], shapes["text_encoder.encoder.layer.0.output.dense.weight"]);
        Assert.Equal([32L, 32], shapes["text_decoder.bert.encoder.layer.0.attention.self.query.weight"]);
        Assert.Equal([40L, 32], shapes["text_decoder.cls.predictions.decoder.weight"]);
        Assert.Equal([40L], shapes["text_decoder.cls.predictions.bias"]);
        Assert.Equal([32L, 32], shapes["text_decoder.cls.predictions.transform.dense.weight"]);
        Assert.Equal([16L, 32], shapes["vision_proj.weight"]);
        Assert.Equal([16L, 32], shapes["text_proj_m.weight"]);
        Assert.Equal([2L, 32], shapes["itm_head.weight"]);
        Assert.Equal([32L, 3, 8, 8], shapes["visual_encoder_m.patch_embed.proj.weight"]);
        Assert.Equal([32L, 32], shapes["text_encoder_m.encoder.layer.0.crossattention.self.query.weight"]);
        Assert.Equal([16L, 16], shapes["image_queue"]);
        Assert.Equal([16L, 16], shapes["text_queue"]);
        Assert.Equal([1L], shapes["queue_ptr"]);
        Assert.Empty(shapes["temp"]);
        Assert.DoesNotContain(state.Keys, key => key.Contains("pooler", StringComparison.Ordinal) || key.Contains("token_type", StringComparison.Ordinal));
    }

    [Fact]
    public void Decoder_shares_embeddings_cross_attention_and_ffn_with_the_encoder_but_not_self_attention()
    {
        using var model = TinyBlip.Model();
        var state = model.state_dict();
        var shared = state.Keys.Where(key => key.StartsWith("text_encoder.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(shared);
        var sharedCount = 0;
        foreach (var encoderName in shared)
        {
            var decoderName = "text_decoder.bert." + encoderName["text_encoder.".Length..];
            var same = ReferenceEquals(state[encoderName], state[decoderName]);
            var isSelfAttention = encoderName.Contains(".attention.", StringComparison.Ordinal);
            Assert.True(same != isSelfAttention, $"{encoderName}: shared {same}, self-attention {isSelfAttention}");
            sharedCount += same ? 1 : 0;
        }

        Assert.True(sharedCount > 20);
        // The LM head's output weights are the word embeddings; its bias is one parameter under two names.
        Assert.Same(state["text_encoder.embeddings.word_embeddings.weight"], state["text_decoder.cls.predictions.decoder.weight"]);
        Assert.Same(state["text_decoder.cls.predictions.bias"], state["text_decoder.cls.predictions.decoder.bias"]);
        // The optimiser sees each shared parameter once.
        var trainable = model.TrainableParameters().Select(entry => entry.Parameter).ToList();
        Assert.Equal(trainable.Count, trainable.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.DoesNotContain(model.TrainableParameters(), entry => entry.Name.Contains("_m.", StringComparison.Ordinal));
    }

    [Fact]
    public void Forward_gives_finite_scalar_losses_and_momentum_features_of_the_batch()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);

        var output = model.call(batch, 0.4);

        foreach (var loss in new[] { output.Loss, output.LossItc!, output.LossItm!, output.LossLm! })
        {
            Assert.Empty(loss.shape);
            Assert.True(double.IsFinite(loss.item<float>()));
            Assert.True(loss.requires_grad);
        }

        Assert.Equal(output.LossItc!.item<float>() + output.LossItm!.item<float>() + output.LossLm!.item<float>(), output.Loss.item<float>(), 4);
        Assert.Equal([4L, 16], output.ImageFeatM!.shape);
        Assert.Equal([4L, 16], output.TextFeatM!.shape);
        Assert.False(output.ImageFeatM!.requires_grad);
        Assert.Equal(1.0, output.TextFeatM!.norm(1).mean().item<float>(), 4);
    }

    [Fact]
    public void Encoders_give_tokens_and_features_of_the_expected_shapes()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 3, index: 1);
        model.eval();

        var (embeds, imageFeature) = model.EncodeImage(batch.Images);
        var textFeature = model.EncodeText(batch.TextIds, batch.TextMask);
        var match = model.MatchScore(batch.TextIds, batch.TextMask, embeds);
        var logits = model.DecoderLogits(batch.TextIds, batch.TextMask, embeds);

        Assert.Equal([3L, 5, 32], embeds.shape);
        Assert.Equal([3L, 16], imageFeature.shape);
        Assert.Equal([3L, 16], textFeature.shape);
        Assert.Equal([3L], match.shape);
        Assert.Equal([3L, TinyBlip.TextLength, TinyBlip.VocabSize], logits.shape);
    }

    [Fact]
    public void Decoder_is_causal_changing_a_later_token_leaves_earlier_outputs_unchanged()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 2, index: 2);
        model.eval();
        using var noGrad = no_grad();
        var (embeds, _) = model.EncodeImage(batch.Images);
        var mask = ones_like(batch.TextMask);

        const int changed = 4;
        var altered = batch.TextIds.clone();
        altered.select(1, changed).fill_(17);
        var before = model.DecoderLogits(batch.TextIds, mask, embeds);
        var after = model.DecoderLogits(altered, mask, embeds);

        Assert.True(before.narrow(1, 0, changed).equal(after.narrow(1, 0, changed)).all().item<bool>());
        Assert.False(before.select(1, changed).allclose(after.select(1, changed)));

        // The unimodal encoder is bidirectional: the same change reaches earlier positions.
        var encoderBefore = model.EncodeText(batch.TextIds, mask);
        var encoderAfter = model.EncodeText(altered, mask);
        Assert.False(encoderBefore.allclose(encoderAfter));
    }

    [Fact]
    public void Padding_does_not_change_what_the_encoder_sees()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 2, index: 3);
        model.eval();
        using var noGrad = no_grad();

        var padded = batch.TextIds.masked_fill(batch.TextMask.eq(0), 9);

        Assert.True(model.EncodeText(batch.TextIds, batch.TextMask).allclose(model.EncodeText(padded, batch.TextMask), rtol: 1e-5, atol: 1e-6));
    }
}
