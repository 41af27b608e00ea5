using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip2;

/// <summary>LAVIS ↔ HuggingFace names of a stage-1 checkpoint (reference §6.4).</summary>
public sealed class Blip2NamesTests
{
    private static readonly BlipSpecialTokens Tokens = new(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);

    [Fact]
    public void Every_name_maps_to_a_distinct_hf_name_and_back_and_only_temp_and_the_lm_head_have_none()
    {
        var config = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig { VocabSize = 40, HiddenSize = 32, Layers = 4, Heads = 2, IntermediateSize = 64, EncoderWidth = 24, QueryTokens = 4 },
            EmbedDim = 16,
        };
        using var model = new Blip2Stage1Model(config, Tokens, seed: 1);
        var names = model.state_dict().Keys.ToList();

        var mapped = names.Select(name => (Lavis: name, Hf: Blip2Names.ToHf(name))).ToList();

        Assert.All(mapped.Where(entry => entry.Hf is not null), entry => Assert.Equal(entry.Lavis, Blip2Names.ToLavis(entry.Hf!)));
        Assert.Equal(mapped.Count(entry => entry.Hf is not null), mapped.Select(entry => entry.Hf).OfType<string>().Distinct().Count());
        Assert.All(mapped.Where(entry => entry.Hf is null), entry => Assert.True(entry.Lavis == "temp" || entry.Lavis.StartsWith("Qformer.cls.", StringComparison.Ordinal), entry.Lavis));
        Assert.Equal("vision_model.post_layernorm.weight", Blip2Names.ToHf("ln_vision.weight"));
        Assert.Equal("qformer.layernorm.bias", Blip2Names.ToHf("Qformer.bert.embeddings.LayerNorm.bias"));
        Assert.Equal("qformer.encoder.layer.2.crossattention.attention.key.weight", Blip2Names.ToHf("Qformer.bert.encoder.layer.2.crossattention.self.key.weight"));
        Assert.Equal("qformer.encoder.layer.1.attention.attention.query.bias", Blip2Names.ToHf("Qformer.bert.encoder.layer.1.attention.self.query.bias"));
        Assert.Equal("qformer.encoder.layer.1.attention.output.dense.weight", Blip2Names.ToHf("Qformer.bert.encoder.layer.1.attention.output.dense.weight"));
        Assert.Equal("qformer.encoder.layer.3.output_query.LayerNorm.weight", Blip2Names.ToHf("Qformer.bert.encoder.layer.3.output_query.LayerNorm.weight"));
        Assert.Equal("embeddings.word_embeddings.weight", Blip2Names.ToHf("Qformer.bert.embeddings.word_embeddings.weight"));
        Assert.Equal("vision_projection.weight", Blip2Names.ToHf("vision_proj.weight"));
        Assert.Equal("text_projection.bias", Blip2Names.ToHf("text_proj.bias"));
        Assert.Null(Blip2Names.ToLavis("language_projection.weight"));
    }

    [Fact]
    public void A_model_exported_in_hf_names_imports_into_another_with_every_named_tensor_equal_and_temp_and_the_lm_head_its_own()
    {
        var config = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig { VocabSize = 40, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 64, EncoderWidth = 24, QueryTokens = 4 },
            EmbedDim = 16,
        };
        var path = Path.Combine(Directory.CreateTempSubdirectory("blip2-hf-").FullName, "model.safetensors");
        using var exported = new Blip2Stage1Model(config, Tokens, seed: 1);
        using var imported = new Blip2Stage1Model(config, Tokens, seed: 2);
        var before = imported.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.clone());

        var written = Blip2HfWeights.Export(exported, path);
        Blip2HfWeights.Import(imported, path);

        var names = Safetensors.ReadEntries(path).Select(entry => entry.Name).ToList();
        Assert.Equal(written, names.Count);
        Assert.Contains("qformer.encoder.layer.0.crossattention.attention.value.weight", names);
        Assert.DoesNotContain(names, name => name.StartsWith("Qformer.", StringComparison.Ordinal) || name == "temp");
        var source = exported.state_dict();
        foreach (var (name, tensor) in imported.state_dict())
        {
            // The LM head's decoder is the word embeddings (tied), so it follows them; its transform and bias and temp stay.
            var expected = Blip2Names.ToHf(name) is not null || name == "Qformer.cls.predictions.decoder.weight" ? source[name] : before[name];
            Assert.True(expected.equal(tensor).all().item<bool>(), name);
        }

        Safetensors.Save(path, [("language_projection.weight", zeros(2, 2))]);
        var error = Assert.Throws<InvalidDataException>(() => Blip2HfWeights.Import(imported, path));
        Assert.Contains("language_projection.weight names nothing of a stage-1 model", error.Message, StringComparison.Ordinal);
        Assert.Contains("query_tokens (for query_tokens) is missing", error.Message, StringComparison.Ordinal);
    }
}
