using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;

namespace VisionLanguage.Models.Tests.Blip2;

public sealed class QFormerTextInitTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("text-init-").FullName;

    [Fact]
    public void A_BERT_starts_the_text_side_and_both_feed_forwards_while_cross_attention_queries_and_new_words_keep_their_init()
    {
        HfCheckpoints.WriteBert(Path.Combine(_folder, "bert"), ["a", "red", "circle"]);
        CheckpointImport.Import(Path.Combine(_folder, "bert"), new BertImport(), Path.Combine(_folder, "imported"), path => path);
        var bert = Safetensors.Load(Path.Combine(_folder, "imported", CheckpointImport.WeightsFile));
        // BERT's 9 words plus [DEC] and [ENC].
        var config = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig
            {
                VocabSize = 11, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 128, EncoderWidth = 24,
                CrossAttentionFrequency = 2, QueryTokens = 4, MaxPositionEmbeddings = 64,
            },
            EmbedDim = 16,
        };
        using var model = new Blip2Stage1Model(config, TinyBlip.Tokens, seed: 1);
        var before = model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.clone());

        var written = QFormerTextInit.Apply(model, bert, "bert");

        var state = model.state_dict();
        Assert.Equal(bert["encoder.layer.1.intermediate.dense.weight"], state["Qformer.bert.encoder.layer.1.intermediate.dense.weight"]);
        Assert.Equal(bert["encoder.layer.1.intermediate.dense.weight"], state["Qformer.bert.encoder.layer.1.intermediate_query.dense.weight"]);
        Assert.Equal(bert["encoder.layer.0.output.LayerNorm.bias"], state["Qformer.bert.encoder.layer.0.output_query.LayerNorm.bias"]);
        Assert.Equal(bert["encoder.layer.0.attention.self.key.bias"], state["Qformer.bert.encoder.layer.0.attention.self.key.bias"]);
        Assert.Equal(bert["embeddings.LayerNorm.weight"], state["Qformer.bert.embeddings.LayerNorm.weight"]);
        Assert.Equal(bert["cls.predictions.transform.dense.weight"], state["Qformer.cls.predictions.transform.dense.weight"]);
        var words = state["Qformer.bert.embeddings.word_embeddings.weight"];
        Assert.Equal(bert["embeddings.word_embeddings.weight"], words.narrow(0, 0, 9));
        Assert.Equal(before["Qformer.bert.embeddings.word_embeddings.weight"].narrow(0, 9, 2), words.narrow(0, 9, 2));
        Assert.Equal(bert["cls.predictions.bias"], state["Qformer.cls.predictions.bias"].narrow(0, 0, 9));
        // The LM head's decoder is the word embeddings, tied.
        Assert.Equal(words, state["Qformer.cls.predictions.decoder.weight"]);
        foreach (var untouched in new[] { "Qformer.bert.encoder.layer.0.crossattention.self.key.weight", "query_tokens", "vision_proj.weight", "itm_head.weight", "temp" })
        {
            Assert.Equal(before[untouched], state[untouched]);
        }

        // Per layer: 4 attention linears (8), their LayerNorm (2), the text and the query feed-forward (6 each); the embeddings (4); the head (5).
        Assert.Equal(2 * (8 + 2 + 6 + 6) + 4 + 5, written.Count);
    }

    [Fact]
    public void An_encoder_of_another_shape_is_refused_naming_both_shapes()
    {
        HfCheckpoints.WriteBert(Path.Combine(_folder, "bert"), ["a"], width: 16, heads: 2);
        CheckpointImport.Import(Path.Combine(_folder, "bert"), new BertImport(), Path.Combine(_folder, "imported"), path => path);
        var bert = Safetensors.Load(Path.Combine(_folder, "imported", CheckpointImport.WeightsFile));
        using var model = new Blip2Stage1Model(
            new Blip2Stage1Config { Qformer = new QFormerConfig { VocabSize = 9, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 128, EncoderWidth = 24, QueryTokens = 4, MaxPositionEmbeddings = 64 }, EmbedDim = 16 },
            TinyBlip.Tokens, seed: 1);

        var error = Assert.Throws<InvalidDataException>(() => QFormerTextInit.Apply(model, bert, "input text_init (bert)"));

        Assert.StartsWith("input text_init (bert) cannot initialise this Q-Former: embeddings.word_embeddings.weight [7, 16] does not fit Qformer.bert.embeddings.word_embeddings.weight [9, 32]", error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
