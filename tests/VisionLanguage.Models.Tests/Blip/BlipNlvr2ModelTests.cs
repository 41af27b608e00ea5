using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class BlipNlvr2ModelTests : IDisposable
{
    private const int Width = 32;

    private readonly string _folder = Directory.CreateTempSubdirectory("blip-nlvr2-").FullName;

    [Fact]
    public void Both_cross_attentions_of_every_layer_start_equal_to_the_pretrained_one()
    {
        var path = Path.Combine(_folder, "pretrained.safetensors");
        var config = TinyBlip.Config(layers: 2);
        using var pretrained = new BlipPretrainModel(config, TinyBlip.Tokens, seed: 3);
        BlipWeights.Save(pretrained, path);
        using var model = new BlipNlvr2Model(config, TinyBlip.Tokens, seed: 4);
        var state = model.state_dict();
        var mergeBefore = state["text_encoder.encoder.layer.1.crossattention.output.merge_layer.weight"].clone();

        var report = model.LoadWeights(path, WeightsLoading.Lenient);

        var source = pretrained.state_dict();
        for (var layer = 0; layer < 2; layer++)
        {
            var prefix = $"text_encoder.encoder.layer.{layer}.crossattention.";
            foreach (var part in new[] { "query", "key", "value" })
            {
                foreach (var kind in new[] { "weight", "bias" })
                {
                    var pretrainedOne = source[$"{prefix}self.{part}.{kind}"];
                    AssertEqual(pretrainedOne, state[$"{prefix}self0.{part}.{kind}"]);
                    AssertEqual(pretrainedOne, state[$"{prefix}self1.{part}.{kind}"]);
                }
            }

            foreach (var kind in new[] { "weight", "bias" })
            {
                AssertEqual(source[$"{prefix}output.dense.{kind}"], state[$"{prefix}output.dense0.{kind}"]);
                AssertEqual(source[$"{prefix}output.dense.{kind}"], state[$"{prefix}output.dense1.{kind}"]);
                AssertEqual(source[$"{prefix}output.LayerNorm.{kind}"], state[$"{prefix}output.LayerNorm.{kind}"]);
            }

            // Two modules, not one: equal values in tensors of their own.
            Assert.False(ReferenceEquals(state[$"{prefix}self0.query.weight"], state[$"{prefix}self1.query.weight"]));
        }

        AssertEqual(source["text_encoder.encoder.layer.1.attention.self.query.weight"], state["text_encoder.encoder.layer.1.attention.self.query.weight"]);
        AssertEqual(source["visual_encoder.blocks.0.attn.qkv.weight"], state["visual_encoder.blocks.0.attn.qkv.weight"]);
        // The merge layer and the classifier have nothing to come from: they keep their fresh values.
        AssertEqual(mergeBefore, state["text_encoder.encoder.layer.1.crossattention.output.merge_layer.weight"]);
        Assert.Equal(
            ["cls_head.0.bias", "cls_head.0.weight", "cls_head.2.bias", "cls_head.2.weight",
             "text_encoder.encoder.layer.1.crossattention.output.merge_layer.bias", "text_encoder.encoder.layer.1.crossattention.output.merge_layer.weight"],
            report.Missing.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    [InlineData(3, 2)]
    [InlineData(12, 6)]
    public void The_first_half_of_the_layers_averages_and_the_second_concatenates_and_projects(int layers, int firstMerge)
    {
        Assert.Equal(firstMerge, NlvrBertModel.FirstMergeLayer(layers));
        if (layers > 4)
        {
            return;
        }

        using var model = new BlipNlvr2Model(TinyBlip.Config(layers: layers), TinyBlip.Tokens, seed: 1);
        var shapes = model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.shape);
        for (var layer = 0; layer < layers; layer++)
        {
            var prefix = $"text_encoder.encoder.layer.{layer}.crossattention.output.";
            Assert.Equal([(long)Width, Width], shapes[prefix + "dense0.weight"]);
            Assert.Equal([(long)Width, Width], shapes[prefix + "dense1.weight"]);
            if (layer < firstMerge)
            {
                Assert.False(shapes.ContainsKey(prefix + "merge_layer.weight"), $"layer {layer} of {layers} should average");
            }
            else
            {
                Assert.Equal([(long)Width, 2 * Width], shapes[prefix + "merge_layer.weight"]);
                Assert.Equal([(long)Width], shapes[prefix + "merge_layer.bias"]);
            }
        }

        Assert.Equal([(long)Width, Width], shapes["cls_head.0.weight"]);
        Assert.Equal([2L, Width], shapes["cls_head.2.weight"]);
    }

    [Fact]
    public void Averaging_is_the_mean_of_the_projected_contexts_and_merging_projects_their_concatenation()
    {
        using var scope = NewDisposeScope();
        using var init = new Generator(1);
        using var dropout = new Generator(2);
        var config = TinyBlip.Config().Text;
        using var average = new TwinSelfOutput(config, merge: false, init, dropout);
        using var merge = new TwinSelfOutput(config, merge: true, init, dropout);
        average.eval();
        merge.eval();
        var c0 = randn([2, 5, Width], device: CPU);
        var c1 = randn([2, 5, Width], device: CPU);
        var input = randn([2, 5, Width], device: CPU);

        var averaged = average.call(c0, c1, input);
        var merged = merge.call(c0, c1, input);

        var p = average.named_parameters().ToDictionary(entry => entry.name, entry => entry.parameter);
        var h0 = nn.functional.linear(c0, p["dense0.weight"], p["dense0.bias"]);
        var h1 = nn.functional.linear(c1, p["dense1.weight"], p["dense1.bias"]);
        var expected = nn.functional.layer_norm(((h0 + h1) / 2) + input, [Width], p["LayerNorm.weight"], p["LayerNorm.bias"], 1e-12);
        Assert.True(averaged.allclose(expected, rtol: 1e-5, atol: 1e-5));

        var m = merge.named_parameters().ToDictionary(entry => entry.name, entry => entry.parameter);
        var g0 = nn.functional.linear(c0, m["dense0.weight"], m["dense0.bias"]);
        var g1 = nn.functional.linear(c1, m["dense1.weight"], m["dense1.bias"]);
        var projected = nn.functional.linear(cat([g0, g1], dim: -1), m["merge_layer.weight"], m["merge_layer.bias"]);   // (2, 5, 2D) → (2, 5, D)
        var expectedMerge = nn.functional.layer_norm(projected + input, [Width], m["LayerNorm.weight"], m["LayerNorm.bias"], 1e-12);
        Assert.Equal([2L, 5, Width], merged.shape);
        Assert.True(merged.allclose(expectedMerge, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Forward_gives_a_finite_loss_and_each_image_reaches_the_classifier_through_its_own_cross_attention()
    {
        using var model = new BlipNlvr2Model(TinyBlip.Config(layers: 2), TinyBlip.Tokens, seed: 5);
        model.eval();
        using var scope = NewDisposeScope();
        using var generator = new Generator(6);
        var left = randn([3, 3, 16, 16], generator: generator, device: CPU);
        var right = randn([3, 3, 16, 16], generator: generator, device: CPU);
        var ids = tensor(new long[] { 1, 10, 11, 12, 2, 1, 13, 14, 2, 0, 1, 15, 2, 0, 0 }, [3, 5], device: CPU);
        var mask = ids.ne(0).to_type(ScalarType.Int64);
        using var batch = new BlipNlvr2Batch(left, right, ids, mask, tensor(new long[] { 1, 0, 1 }, device: CPU));

        var output = model.call(batch);

        Assert.True(float.IsFinite(output.Loss.item<float>()));
        Assert.Equal([3L, 2], output.Logits.shape);
        // Swapping the images changes the logits: the two cross-attentions are not interchangeable once trained
        // apart, and here they already differ (drawn from one seed, one after the other).
        var swapped = model.Logits(right, left, ids, mask);
        Assert.False(swapped.allclose(output.Logits));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static void AssertEqual(Tensor expected, Tensor actual) => Assert.True(expected.equal(actual).all().item<bool>());
}
