using System.Text.Json.Nodes;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Capfilt;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Weights;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Testing;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace Trainer.Worker.Tests.Training;

/// <summary>BLIP-2 stage 1 against the frozen ViT of the chain's BLIP pretrain (one block deep, so every block is read).</summary>
public sealed class Blip2Stage1RunnerTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private const string QFormer = """
        "num_query_token":4,"qformer_width":32,"qformer_layers":2,"qformer_heads":2,"embed_dim":16,"eval_top_k":4,"vision_layer":-1
        """;

    private static readonly string Options = $$"""{ {{TinyBlipChain.DataSizes}}, {{QFormer}}, "epochs":2,"checkpoint_every_steps":2}""";

    [Fact]
    public async Task Trains_three_objectives_evaluates_retrieval_writes_the_qformer_without_the_encoder_and_resumes_to_the_same_bits()
    {
        var runner = new Blip2Stage1Runner(chain.Data);
        var inputs = StageChain.Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human), ("eval", chain.Test));

        var (result, runId) = await chain.Chain.RunAsync(runner, "stage1", Options, inputs);

        // 8 human pairs in batches of 4 for 2 epochs: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.All(["loss_itc", "loss_itm", "loss_itg", "temp"], name => Assert.True(double.IsFinite(result.Metrics[name]), name));
        // 4 test images with 2 captions each: recall@5 text→image and @10 image→text cover every candidate.
        Assert.Equal(1.0, result.Metrics["eval_t2i_r5"]);
        Assert.Equal(1.0, result.Metrics["eval_i2t_r10"]);
        // The Q-Former also captions the 4 test images through ITG.
        Assert.InRange(result.Metrics["eval_bleu4"], 0.0, 1.0);
        Assert.True(result.Metrics["eval_cider"] >= 0.0);
        Assert.Equal("checkpoint.qformer", result.Outputs["checkpoint"].Type);

        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [Blip2ImageEncoderInput.FileName, CheckpointFiles.Weights, CheckpointFiles.State, BlipVocabulary.FileName],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("qformer.encoder.layer.0.crossattention.attention.key.weight",
            Safetensors.ReadEntries(Path.Combine(output.Directory, Blip2Stage1Task.HfFolder, "model.safetensors")).Select(entry => entry.Name));
        var weights = Safetensors.Load(Path.Combine(output.Directory, CheckpointFiles.Weights));
        Assert.Contains("Qformer.bert.encoder.layer.0.crossattention.self.key.weight", weights.Keys);
        Assert.DoesNotContain(weights.Keys, name => name.StartsWith("visual_encoder.", StringComparison.Ordinal));
        var record = await File.ReadAllTextAsync(Path.Combine(output.Directory, Blip2ImageEncoderInput.FileName));
        Assert.Contains(chain.Pretrained.ContentDigest!, record, StringComparison.Ordinal);

        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, resumedRun) = await chain.Chain.RunAsync(runner, "stage1", Options, inputs, resumeFrom: checkpoint);

        Assert.Equal([4L], chain.Chain.Reports[resumedRun].OfType<CheckpointSaved>().Select(report => report.Step));
        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task Trains_against_a_CLIP_vision_tower_imported_by_model_import_and_records_which()
    {
        var root = Directory.CreateTempSubdirectory("clip-import-").FullName;
        try
        {
            HfCheckpoints.WriteClip(Path.Combine(root, "clip"), wholeModel: true);
            var (import, _) = await chain.Chain.RunAsync(
                new ModelImportRunner(new ImportRootGuard([root])), "clip", $$"""{"path":"{{root}}/clip","architecture":"clip_vit"}""", StageChain.Inputs());
            var encoder = Assert.Single(import.Outputs);
            Assert.Equal(("image_encoder", "weights.image_encoder"), (encoder.Key, encoder.Value.Type));

            // BLIP-2's default: the tower's last layer is dropped, so 1 of its 2 layers is read.
            var qformer = QFormer.Replace("\"vision_layer\":-1", "\"vision_layer\":-2", StringComparison.Ordinal);
            var options = $$"""{ {{TinyBlipChain.DataSizes}}, {{qformer}}, "epochs":1,"checkpoint_every_steps":100}""";
            var (result, _) = await chain.Chain.RunAsync(
                new Blip2Stage1Runner(chain.Data), "stage1-clip", options, StageChain.Inputs(("image_encoder", encoder.Value), ("train", chain.Human)));

            Assert.All(["loss_itc", "loss_itm", "loss_itg"], name => Assert.True(double.IsFinite(result.Metrics[name]), name));
            var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
            var record = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output.Directory, Blip2ImageEncoderInput.FileName)))!;
            Assert.Equal(("clip", 1, 32, "quick_gelu"), (record["family"]!.GetValue<string>(), record["blocks_used"]!.GetValue<int>(),
                record["vision"]!["width"]!.GetValue<int>(), record["vision"]!["activation"]!.GetValue<string>()));
            Assert.Equal(encoder.Value.ContentDigest, record["content_digest"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_text_init_shapes_the_QFormer_and_gives_it_its_vocabulary_from_an_imported_BERT_or_a_BLIP_text_encoder()
    {
        var root = Directory.CreateTempSubdirectory("bert-import-").FullName;
        try
        {
            var human = await chain.Chain.Store.FetchAsync(chain.Human);
            var words = File.ReadAllLines(Path.Combine(human.Directory, BlipVocabulary.FileName)).Except(BlipTokenizer.SpecialTokens).ToList();
            HfCheckpoints.WriteBert(Path.Combine(root, "bert"), words, width: 48, layers: 1, heads: 4);
            var (import, _) = await chain.Chain.RunAsync(
                new ModelImportRunner(new ImportRootGuard([root])), "bert", $$"""{"path":"{{root}}/bert","architecture":"bert"}""", StageChain.Inputs());
            var options = $$"""{ {{TinyBlipChain.DataSizes}}, "num_query_token":4,"embed_dim":16,"eval_top_k":4,"vision_layer":-1,"epochs":1,"checkpoint_every_steps":100}""";

            var (fromBert, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), "stage1-bert", options,
                StageChain.Inputs(("image_encoder", chain.Pretrained), ("text_init", import.Outputs["text_encoder"]), ("train", chain.Human)));
            var (fromBlip, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), "stage1-blip", options,
                StageChain.Inputs(("image_encoder", chain.Pretrained), ("text_init", chain.Pretrained), ("train", chain.Human)));

            // BERT: 48 wide, 1 layer, its [PAD] [unused0] [UNK] [CLS] [SEP] [MASK] and the dataset's words, then [DEC] and [ENC].
            var bert = await chain.Chain.Store.FetchAsync(fromBert.Outputs["checkpoint"]);
            Assert.Equal(["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. words, "[DEC]", "[ENC]"], File.ReadAllLines(Path.Combine(bert.Directory, BlipVocabulary.FileName)));
            var bertWeights = Safetensors.ReadEntries(Path.Combine(bert.Directory, CheckpointFiles.Weights)).ToDictionary(entry => entry.Name, entry => entry.Shape);
            Assert.Equal([words.Count + 8, 48L], bertWeights["Qformer.bert.embeddings.word_embeddings.weight"]);
            Assert.False(bertWeights.ContainsKey("Qformer.bert.encoder.layer.1.attention.self.query.weight"));
            // BLIP's pretrain: its text encoder's 32 × 1 and its own vocabulary.
            var blip = await chain.Chain.Store.FetchAsync(fromBlip.Outputs["checkpoint"]);
            var pretrained = await chain.Chain.Store.FetchAsync(chain.Pretrained);
            Assert.Equal(File.ReadAllLines(Path.Combine(pretrained.Directory, BlipVocabulary.FileName)), File.ReadAllLines(Path.Combine(blip.Directory, BlipVocabulary.FileName)));
            Assert.Equal(32L, Safetensors.ReadEntries(Path.Combine(blip.Directory, CheckpointFiles.Weights)).Single(entry => entry.Name == "Qformer.bert.embeddings.LayerNorm.weight").Shape[0]);
            Assert.All([fromBert, fromBlip], result => Assert.True(double.IsFinite(result.Metrics["loss_itg"])));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Cached_image_features_are_computed_once_kept_outside_the_experiment_and_train_to_the_same_bits_on_a_hit()
    {
        var options = $$"""{ {{TinyBlipChain.DataSizes}}, {{QFormer}}, "epochs":1,"checkpoint_every_steps":100,"image_features":"cache","seed":5}""";
        var inputs = StageChain.Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human));

        var (first, firstRun) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), "cache-first", options, inputs);
        var (second, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), "cache-second", options, inputs);

        var human = await chain.Chain.Store.FetchAsync(chain.Human);
        using var encoder = Blip2ImageEncoderInput.Load(new("checkpoint", (await chain.Chain.Store.FetchAsync(chain.Pretrained)).Directory), 16, -1, null);
        var key = FrozenFeatureCache.Key(chain.Pretrained.ContentDigest!, [chain.Human.ContentDigest!], imageSize: 16, blocksUsed: 1);
        var kept = Assert.Single(await chain.Chain.Store.ListAsync("caches", $"image_features-{key}"));
        Assert.Equal((firstRun, "cache.image_features", 8.0), (kept.Draft.RunId, kept.Draft.Type, kept.Draft.Metrics["images"]));
        Assert.Equal(
            new[] { chain.Pretrained.Uri, chain.Human.Uri }.Order(StringComparer.Ordinal),
            kept.Draft.Parents.Select(parent => parent.Uri).Order(StringComparer.Ordinal));
        Assert.Equal(8.0, second.Metrics["feature_cache_images"]);
        // The cached tokens are the encoder's of the evaluation transform (of the batch they were computed in: 4 images).
        var cacheFolder = (await chain.Chain.Store.FetchAsync(kept.Reference)).Directory;
        using var cache = FrozenFeatureCache.TryOpen(cacheFolder, 8, encoder, out _)!;
        using var dataset = BlipDataset.OpenFolder(human.Directory, BadDataPolicy.Fail);
        using var images = dataset.LoadImages([4, 5, 6, 7], ImageTransform.Eval(16));
        Assert.True(cache.Lookup([4, 5, 6, 7], CPU).eq(encoder.Encode(images)).all().item<bool>());
        // The run that found them trained exactly as the run that computed them.
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine((await chain.Chain.Store.FetchAsync(first.Outputs["checkpoint"])).Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine((await chain.Chain.Store.FetchAsync(second.Outputs["checkpoint"])).Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task The_frozen_encoder_is_bitwise_unchanged_by_training_and_never_reaches_the_optimiser()
    {
        var pretrained = await chain.Chain.Store.FetchAsync(chain.Pretrained);
        using var encoder = Blip2ImageEncoderInput.Load(new("checkpoint", pretrained.Directory), imageSize: 16, visionLayer: -1, device: null);
        var before = encoder.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.clone());
        var settings = BlipOptionsMapping.Blip2Stage1(Orchestrator.Contracts.Catalog.OptionsBinder.Read<Orchestrator.Contracts.Catalog.Options.Blip2Stage1Options>(
            Orchestrator.Contracts.Catalog.StageKindCatalog.Find("blip2.stage1")!, Options));
        var human = await chain.Chain.Store.FetchAsync(chain.Human);
        using var data = chain.Data.Open(new([human.Directory], [], null, settings.Loader, settings.BadData), ShardLayout.Single);
        var config = settings.Model with { Qformer = settings.Model.Qformer with { VocabSize = data.VocabSize, EncoderWidth = encoder.Width } };
        using var trainer = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(_ => new Blip2Stage1Model(config, data.Tokens, 0), settings.Trainer);

        await trainer.TrainAsync([new FrozenEncoderBatches(data.Shards[0], encoder)], stopAtStep: 2);

        Assert.Equal(2, trainer.Position.Step);
        Assert.All(encoder.parameters(), parameter => Assert.False(parameter.requires_grad));
        Assert.False(encoder.training);
        Assert.All(encoder.state_dict(), entry => Assert.True(before[entry.Key].eq(entry.Value).all().item<bool>(), entry.Key));
        Assert.DoesNotContain(trainer.Model.TrainableParameters(), entry => entry.Name.Contains("visual_encoder", StringComparison.Ordinal));
        var file = Safetensors.Load(Path.Combine(pretrained.Directory, CheckpointFiles.Weights));
        Assert.True(file["visual_encoder.blocks.0.attn.qkv.weight"].eq(encoder.state_dict()["visual_encoder.blocks.0.attn.qkv.weight"]).all().item<bool>());
    }

    [Fact]
    public async Task Reading_before_the_first_block_of_the_encoder_fails_naming_the_option_and_its_range()
    {
        var runner = new Blip2Stage1Runner(chain.Data);
        var options = Options.Replace("\"vision_layer\":-1", "\"vision_layer\":-2", StringComparison.Ordinal);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => chain.Chain.RunAsync(
            runner, "stage1", options, StageChain.Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human))));

        Assert.Equal("vision_layer -2 reaches before the first of the 1 blocks of input image_encoder (checkpoint); use -1 to -1", error.Message);
    }
}
