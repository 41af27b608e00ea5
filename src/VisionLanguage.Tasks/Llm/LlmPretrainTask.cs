using TorchSharp;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Llm;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Llm;

/// <summary>How <c>llm.pretrain</c> shapes, tokenizes and trains its language model.</summary>
public sealed record LlmPretrainSettings
{
    /// <summary><see cref="LlmTokenizer.Opt"/> or <see cref="LlmTokenizer.T5"/>.</summary>
    public required string Architecture { get; init; }

    /// <summary>The tokenizer's target size, special tokens included.</summary>
    public int VocabSize { get; init; } = 1000;

    public int HiddenSize { get; init; } = 64;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 4;

    public int FfnDim { get; init; } = 256;

    /// <summary>OPT's learned positions.</summary>
    public int MaxPositions { get; init; } = 128;

    /// <summary>Longest input and longest target, in tokens.</summary>
    public int MaxTextLength { get; init; } = 32;

    public int BatchSize { get; init; } = 32;

    public required TrainerSettings Trainer { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;
}

/// <summary>
/// <c>llm.pretrain</c>: a tokenizer trained on the texts of input <c>train</c> (<see cref="LlmCorpus"/>), then an OPT- or
/// T5-architecture LM trained from scratch on them (decoder-only: each text after BOS, ended by "\n"; encoder-decoder:
/// as a prefix LM), resuming exactly from the run's checkpoint. The output is laid out as <c>model.import</c> lays out an
/// imported LLM: <c>model.safetensors</c> in HF's names, HF's <c>config.json</c>, the tokenizer's files and
/// <c>imported_model.json</c>, so stage 2 reads either the same way (<see cref="LlmInput"/>). Held-out texts of input
/// <c>eval</c>, when bound, give the final loss on unseen text.
/// </summary>
public sealed class LlmPretrainTask(LlmPretrainSettings settings)
{
    public const string Kind = "llm.pretrain";

    /// <summary>What a decoder-only LLM's texts end with, as BLIP-2 ends OPT's captions.</summary>
    public const string EndToken = "\n";

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        var items = LlmCorpus.Read([.. train.Select(input => input.Directory)], settings.Architecture, settings.BadData);
        // Every rank trains the same tokenizer from the same texts (the model's shape depends on it); rank 0 in the output
        // it exports, the others in a folder of their own, so ranks sharing a work directory never write the same files.
        var output = TaskTraining.RankFolder(run, "output");
        Directory.CreateDirectory(output);
        var tokenizer = TrainTokenizer(items, output);
        run.Logger.LogInformation("{Architecture} tokenizer of {Vocabulary} tokens from {Texts} texts", settings.Architecture, tokenizer.VocabularySize, items.Count);

        var texts = new LlmTexts(tokenizer, "", EndToken, prefixLm: true, settings.MaxTextLength);
        var description = Describe(tokenizer);
        using var trainer = new Trainer<LlmPretrainModel, LlmTextBatch>(
            _ => new LlmPretrainModel(NewLlm(description, settings.Trainer.Seed, device), settings.Trainer.Seed),
            settings.Trainer,
            TaskTraining.Replicas(run),
            run.Gang);
        var layout = TaskTraining.Layout(run);
        var batchSize = TaskTraining.BatchPerReplica(Math.Min(settings.BatchSize, items.Count), layout);
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<LlmTextBatch>)new LlmTextBatches(items, texts, new DistributedSampler(items.Count, batchSize, settings.Trainer.Seed, rank, layout.WorldSize)))
            .ToList();
        run.Logger.LogInformation(
            "{Architecture} LM of {Parameters:N0} parameters, {Width} x {Layers}",
            settings.Architecture, LlmFreezing.ParameterCount(trainer.Model.Llm.Module), settings.HiddenSize, settings.Layers);
        var summary = await TaskTraining.TrainAsync(run, trainer, shards, null, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        metrics["vocab_size"] = tokenizer.VocabularySize;
        metrics["texts"] = items.Count;
        if (eval.Count > 0)
        {
            metrics["eval_loss"] = EvalLoss(trainer.Model, texts, LlmCorpus.Read([.. eval.Select(input => input.Directory)], settings.Architecture, settings.BadData), device, TaskPulse.Of(run, cancellationToken));
            run.Logger.LogInformation("Loss on the held-out texts: {Loss:F3}", metrics["eval_loss"]);
        }

        trainer.Model.SaveWeights(Path.Combine(output, CheckpointImport.WeightsFile));
        File.WriteAllText(
            Path.Combine(output, CheckpointImport.ConfigFile),
            (description.Opt?.ToHfConfig() ?? description.T5!.ToHfConfig()).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        description.Write(output);
        return new TaskResult(new Dictionary<string, string> { ["llm"] = output }, metrics);
    }

    private LlmTokenizer TrainTokenizer(IReadOnlyList<LlmTextItem> items, string folder)
    {
        var corpus = items.SelectMany(item => new[] { item.Text, item.Target, item.Context }).OfType<string>().ToList();
        if (settings.Architecture == LlmTokenizer.Opt)
        {
            ByteLevelBpeTrainer.Train(corpus, settings.VocabSize, folder);
        }
        else
        {
            // No sentinels: they serve T5's span corruption, which this LM is not trained with.
            SentencePieceTrainer.Train(corpus, settings.VocabSize, folder, extraIds: 0);
        }

        return LlmTokenizer.Load(folder, settings.Architecture);
    }

    private ImportedModelDescription Describe(LlmTokenizer tokenizer) => settings.Architecture == LlmTokenizer.Opt
        ? new ImportedModelDescription
        {
            Architecture = LlmTokenizer.Opt,
            Opt = new OptConfig
            {
                VocabSize = tokenizer.VocabularySize, HiddenSize = settings.HiddenSize, Layers = settings.Layers, Heads = settings.Heads,
                FfnDim = settings.FfnDim, MaxPositionEmbeddings = settings.MaxPositions, WordEmbedWidth = settings.HiddenSize,
                PadTokenId = tokenizer.PadId, BosTokenId = tokenizer.BosId ?? tokenizer.EosId, EosTokenId = tokenizer.EosId,
            },
        }
        : new ImportedModelDescription
        {
            Architecture = LlmTokenizer.T5,
            T5 = new T5Config
            {
                VocabSize = tokenizer.VocabularySize, HiddenSize = settings.HiddenSize, HeadDim = settings.HiddenSize / settings.Heads,
                FfnDim = settings.FfnDim, Layers = settings.Layers, DecoderLayers = settings.Layers, Heads = settings.Heads,
                GatedFeedForward = true, Activation = T5Activation.Gelu, TieWordEmbeddings = false,
                PadTokenId = tokenizer.PadId, EosTokenId = tokenizer.EosId, DecoderStartTokenId = tokenizer.PadId,
            },
        };

    private static ISoftPromptedLlm NewLlm(ImportedModelDescription description, long seed, Device device)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        ISoftPromptedLlm llm = description.Opt is { } opt
            ? new OptSoftPrompted(new OptForCausalLM(opt, generator))
            : new T5SoftPrompted(new T5ForConditionalGeneration(description.T5!, generator));
        llm.Module.to(device);
        return llm;
    }

    private double EvalLoss(LlmPretrainModel model, LlmTexts texts, IReadOnlyList<LlmTextItem> items, Device device, TaskPulse pulse)
    {
        model.SetTraining(false);
        using var noGrad = no_grad();
        double total = 0;
        var batches = 0;
        foreach (var chunk in items.Chunk(settings.BatchSize))
        {
            pulse.Beat();
            using var loaded = texts.Batch([.. chunk.Select((item, index) => texts.Example(item, DataRandom.For(settings.Trainer.Seed, index)))]);
            var batch = loaded.To(device);
            using var moved = ReferenceEquals(batch, loaded) ? null : batch;
            using var loss = model.Llm.Loss(null, batch.InputIds, batch.InputMask, batch.Labels);
            total += loss.item<float>();
            batches++;
        }

        return total / batches;
    }
}
