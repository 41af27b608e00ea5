using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class BlipWeightsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("blip-weights-").FullName;

    [Fact]
    public void Weights_round_trip_into_a_differently_seeded_model_including_momentum_copies_and_queues()
    {
        var path = Path.Combine(_folder, "model.safetensors");
        using var original = TinyBlip.Model(seed: 1);
        using (var scope = NewDisposeScope())
        {
            original.DequeueAndEnqueue(full([4, 16], 0.25f), full([4, 16], -0.25f));
        }

        BlipWeights.Save(original, path);
        using var restored = TinyBlip.Model(seed: 2);
        var report = restored.LoadWeights(path, WeightsLoading.Strict);

        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        var expected = original.state_dict();
        foreach (var (name, tensor) in restored.state_dict())
        {
            Assert.True(expected[name].equal(tensor).all().item<bool>(), name);
        }

        Assert.Equal(4, restored.QueuePointer);
        // Shared tensors are stored once, under the encoder's name.
        var stored = Safetensors.Load(path);
        Assert.Contains("text_encoder.encoder.layer.0.crossattention.self.query.weight", stored.Keys);
        Assert.DoesNotContain("text_decoder.bert.encoder.layer.0.crossattention.self.query.weight", stored.Keys);
        Assert.DoesNotContain("text_decoder.cls.predictions.decoder.weight", stored.Keys);
        Assert.Contains("text_decoder.bert.encoder.layer.0.attention.self.query.weight", stored.Keys);
        Assert.Contains("text_encoder_m.embeddings.word_embeddings.weight", stored.Keys);
        foreach (var tensor in stored.Values)
        {
            tensor.Dispose();
        }
    }

    [Fact]
    public void Strict_loading_names_every_mismatch()
    {
        var path = Path.Combine(_folder, "other.safetensors");
        using (var scope = NewDisposeScope())
        {
            Safetensors.Save(path, [("temp", tensor(0.1f)), ("itm_head.weight", zeros(3, 32)), ("surprise", zeros(1))]);
        }

        using var model = TinyBlip.Model();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadWeights(path, WeightsLoading.Strict));

        Assert.Contains("itm_head.weight: checkpoint [3, 32], model [2, 32]", error.Message, StringComparison.Ordinal);
        Assert.Contains("surprise: in the checkpoint but not in the model", error.Message, StringComparison.Ordinal);
        Assert.Contains("not in the checkpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Position_embeddings_from_another_image_size_are_resized_bicubically_keeping_cls()
    {
        var path = Path.Combine(_folder, "small-images.safetensors");
        using var small = TinyBlip.Model();
        BlipWeights.Save(small, path);
        var largerConfig = TinyBlip.Config() with { Vision = TinyBlip.Config().Vision with { ImageSize = 32 } };
        using var larger = new BlipPretrainModel(largerConfig, TinyBlip.Tokens, seed: 3);

        var report = larger.LoadWeights(path, WeightsLoading.Strict);

        Assert.Contains(report.Adapted, line => line.StartsWith("visual_encoder.pos_embed", StringComparison.Ordinal));
        using var scope = NewDisposeScope();
        var before = small.state_dict()["visual_encoder.pos_embed"];
        var after = larger.state_dict()["visual_encoder.pos_embed"];
        Assert.Equal([1L, 17, 32], after.shape);
        Assert.True(after.select(1, 0).equal(before.select(1, 0)).all().item<bool>());
        // A constant grid stays constant under bicubic resizing.
        var constant = cat([zeros(1, 1, 4), ones(1, 4, 4) * 3], dim: 1);
        var resized = PositionEmbeddingResize.Resize(constant, gridSize: 4);
        Assert.Equal([1L, 17, 4], resized.shape);
        Assert.True(resized.narrow(1, 1, 16).allclose(ones(1, 16, 4) * 3, atol: 1e-5));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
