using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;
using Trainer.Worker.Runners;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Import;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

public sealed class ModelImportRunnerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task A_BERT_import_is_committed_as_output_text_encoder_with_its_vocabulary()
    {
        HfCheckpoints.WriteBert(_folder.PathOf("source/bert"), ["a", "red", "circle"]);
        var run = DataRunContext.Create("model.import", new ModelImportOptions { Path = _folder.PathOf("source/bert"), Architecture = ModelArchitecture.Bert }, _folder.Root);

        var result = await new ModelImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        var output = Assert.Single(result.Outputs);
        Assert.Equal(("text_encoder", "weights.text_encoder"), (output.Key, output.Value.Type));
        var local = await run.Store.FetchAsync(output.Value);
        Assert.Equal(
            [CheckpointImport.ConfigFile, CheckpointImport.DescriptionFile, CheckpointImport.WeightsFile, "tokenizer_config.json", "vocab.txt"],
            Directory.EnumerateFiles(local.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(new Dictionary<string, double> { ["files"] = 4, ["bytes"] = Bytes("source/bert"), ["ignored_tensors"] = 4, ["layers"] = 2 }, result.Metrics);
    }

    [Fact]
    public async Task A_T5_import_is_committed_as_output_llm_with_its_SentencePiece_model()
    {
        HfCheckpoints.WriteT5(_folder.PathOf("source/t5"), layers: 2, decoderLayers: 3);
        // A tokenizer of fewer ids than the 40 embedding rows, as BLIP-2's OPT has 50,272 rows for 50,265 ids.
        SentencePieceTrainer.Train(["a red circle", "a blue square", "a red square"], 24, _folder.PathOf("source/t5"), extraIds: 0);
        var run = DataRunContext.Create("model.import", new ModelImportOptions { Path = _folder.PathOf("source/t5"), Architecture = ModelArchitecture.T5 }, _folder.Root);

        var result = await new ModelImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        var output = Assert.Single(result.Outputs);
        Assert.Equal(("llm", "weights.llm"), (output.Key, output.Value.Type));
        var local = await run.Store.FetchAsync(output.Value);
        Assert.Equal(
            [CheckpointImport.ConfigFile, CheckpointImport.DescriptionFile, CheckpointImport.WeightsFile, "special_tokens_map.json", "spiece.model", "tokenizer_config.json"],
            Directory.EnumerateFiles(local.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // The stacks' two copies of shared.weight are unused; the layers are both stacks' blocks; the rows beyond the
        // tokenizer's ids are accepted, and said: the metrics count both (and the log names the unread rows).
        var ids = LlmTokenizer.Load(local.Directory, "t5").VocabularySize;
        Assert.True(ids < 40, $"{ids} ids");
        Assert.Equal(new Dictionary<string, double>
        {
            ["files"] = 5, ["bytes"] = Bytes("source/t5"), ["ignored_tensors"] = 2, ["layers"] = 5, ["tokenizer_ids"] = ids, ["embedding_rows"] = 40,
        }, result.Metrics);
    }

    [Fact]
    public async Task A_tokenizer_with_more_ids_than_the_embedding_has_rows_is_refused()
    {
        HfCheckpoints.WriteT5(_folder.PathOf("source/t5"), vocab: 8);
        SentencePieceTrainer.Train(["a red circle", "a blue square", "a red square"], 24, _folder.PathOf("source/t5"), extraIds: 0);
        var run = DataRunContext.Create("model.import", new ModelImportOptions { Path = _folder.PathOf("source/t5"), Architecture = ModelArchitecture.T5 }, _folder.Root);

        var error = await Assert.ThrowsAsync<ModelImportException>(() => new ModelImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.Contains("but the embedding has 8 rows; import the tokenizer files that belong to these weights", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_architecture_is_committed_as_the_output_the_catalog_gives_it()
    {
        var outputs = StageKindCatalog.All.Single(kind => kind.Name == "model.import").Outputs;

        foreach (var architecture in Enum.GetValues<ModelArchitecture>())
        {
            var name = BlipOptionsMapping.ArchitectureName(architecture);
            var produced = Assert.Single(outputs, output => output.When!.Values.Contains(name));
            Assert.Equal(produced.Name, ModelImportRunner.OutputFor(architecture));
            Assert.Equal(name, ImportArchitecture.For(name).Name);
        }
    }

    [Fact]
    public async Task A_file_of_the_folder_linked_out_of_the_import_roots_is_refused_and_nothing_is_committed()
    {
        HfCheckpoints.WriteClip(_folder.PathOf("source/clip"));
        var outside = _folder.WriteText("elsewhere/config.json", "{}");
        File.Delete(_folder.PathOf("source/clip/config.json"));
        File.CreateSymbolicLink(_folder.PathOf("source/clip/config.json"), outside);
        var run = DataRunContext.Create("model.import", new ModelImportOptions { Path = _folder.PathOf("source/clip") }, _folder.Root);

        var error = await Assert.ThrowsAsync<ImportPathRefusedException>(() => new ModelImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"path '{_folder.PathOf("source/clip/config.json")}' resolves to '{outside}', outside every import root", error.Message);
        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task A_path_that_is_no_folder_gets_an_error_naming_what_to_give()
    {
        var run = DataRunContext.Create("model.import", new ModelImportOptions { Path = _folder.PathOf("source/none") }, _folder.Root);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new ModelImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"path '{_folder.PathOf("source/none")}' is not a folder on this worker; give the checkpoint folder", error.Message);
    }

    public void Dispose() => _folder.Dispose();

    private ImportRootGuard Guard() => new([_folder.PathOf("source")]);

    /// <summary>The bytes of every file in the folder: an import reads them all.</summary>
    private long Bytes(string relative) => Directory.EnumerateFiles(_folder.PathOf(relative)).Sum(file => new FileInfo(file).Length);
}
