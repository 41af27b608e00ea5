using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Import;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>model.import</c>: checks a checkpoint folder against its architecture (<see cref="CheckpointImport"/>: every
/// name and shape its config.json implies, all mismatches in one error) and commits the model as the output the
/// architecture fixes: <c>image_encoder</c> for clip_vit and eva_vit, <c>text_encoder</c> for bert, <c>llm</c> for opt and t5. The folder and every
/// file in it are opened at their real paths, which must lie under the worker's import roots (<see cref="ImportRootGuard"/>).
/// </summary>
public sealed class ModelImportRunner(ImportRootGuard guard) : IStageRunner
{
    public string Kind => "model.import";

    /// <summary>The output an architecture's import is committed as; the catalog's output conditions say the same.</summary>
    public static string OutputFor(ModelArchitecture architecture) => architecture switch
    {
        ModelArchitecture.Bert => "text_encoder",
        ModelArchitecture.Opt or ModelArchitecture.T5 => "llm",
        _ => "image_encoder",
    };

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<ModelImportOptions>();
        var folder = guard.Resolve(options.Path, "path");
        if (!Directory.Exists(folder))
        {
            // Not a DirectoryNotFoundException: that is an IOException, which the worker retries, and the path stays wrong.
            throw new ArgumentException(
                $"path '{options.Path}' is not a folder on this worker; give the checkpoint folder (config.json, model.safetensors or its index, tokenizer files)");
        }

        var architecture = ImportArchitecture.For(BlipOptionsMapping.ArchitectureName(options.Architecture));
        var directory = Path.Combine(context.WorkDirectory, "model");
        var imported = await Task.Run(
            () => CheckpointImport.Import(folder, architecture, directory, file => guard.Resolve(file, "path"), cancellationToken), cancellationToken);
        var metrics = new Dictionary<string, double>
        {
            ["files"] = imported.Source.Count,
            ["bytes"] = imported.Source.Sum(file => file.Bytes),
            ["ignored_tensors"] = imported.IgnoredTensors,
            ["layers"] = imported.Vision?.Depth ?? imported.Text?.Layers ?? imported.Opt?.Layers
                ?? (imported.T5 is { } t5 ? t5.Layers + t5.DecoderLayers : 0),
        };
        if ((imported.Opt?.VocabSize ?? imported.T5?.VocabSize) is { } rows)
        {
            CheckTokenizer(context, folder, directory, architecture.Name, rows, metrics);
        }

        var output = OutputFor(options.Architecture);
        var artifact = await context.CommitOutputAsync(output, directory, metrics, cancellationToken);
        context.Logger.LogInformation("Imported {Architecture} from {Folder} ({Files} files, {Ignored} unused tensors) as {Artifact}",
            architecture.Name, folder, imported.Source.Count, imported.IgnoredTensors, artifact.Uri);
        return new StageRunResult { Outputs = new Dictionary<string, ArtifactReference> { [output] = artifact }, Metrics = metrics };
    }

    /// <summary>
    /// An LLM's tokenizer must not emit an id its embedding lacks. More rows than the tokenizer has ids are accepted, and
    /// said (BLIP-2's OPT has 50,272 rows for a tokenizer of 50,265 ids, padded up for speed): the extra rows are never read.
    /// </summary>
    private static void CheckTokenizer(StageRunContext context, string folder, string directory, string architecture, int rows, Dictionary<string, double> metrics)
    {
        var tokenizer = LlmTokenizer.Load(directory, architecture);
        metrics["tokenizer_ids"] = tokenizer.VocabularySize;
        metrics["embedding_rows"] = rows;
        if (tokenizer.VocabularySize > rows)
        {
            throw new ModelImportException(folder, architecture,
                [$"the tokenizer emits ids up to {tokenizer.VocabularySize - 1} but the embedding has {rows} rows; import the tokenizer files that belong to these weights"]);
        }

        if (tokenizer.VocabularySize < rows)
        {
            context.Logger.LogInformation(
                "The embedding has {Rows} rows for the tokenizer's {Ids} ids: accepted; rows {First} and up are never read", rows, tokenizer.VocabularySize, tokenizer.VocabularySize);
        }
    }
}
