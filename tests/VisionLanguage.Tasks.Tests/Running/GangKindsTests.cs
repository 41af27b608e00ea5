using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Import;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Blip2Finetunes;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using VisionLanguage.Tasks.Nlvr2;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Tasks.Vqa;
using VisionLanguage.Testing;
using VisionLanguage.Training;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Tests.Running;

/// <summary>
/// The inputs the gang kinds need, made once at tiny sizes: synthetic captions, a BLIP pretrain (the caption finetune's
/// <c>init</c>, BLIP-2's frozen image encoder), a stage-1 Q-Former and an OPT LM (stage 2's inputs), and a stage 2 (the BLIP-2 finetunes' init).
/// </summary>
public sealed class GangKindsChain : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("gang-kinds-").FullName;

    public string Human { get; private set; } = null!;

    /// <summary>Another synthetic human split, with VQA questions and NLVR2 pairs: the downstream finetunes' training data.</summary>
    public string Downstream { get; private set; } = null!;

    public string Pretrained { get; private set; } = null!;

    public string Stage1 { get; private set; } = null!;

    public string Llm { get; private set; } = null!;

    public string Stage2 { get; private set; } = null!;

    /// <summary>The human split again, with two VQA questions per image (the VQA finetune's data).</summary>
    public string HumanVqa { get; private set; } = null!;

    public static TrainerSettings Trainer => new() { Epochs = 1, WarmupSteps = 1, LearningRate = 1e-3, CheckpointEverySteps = 100, Seed = 0 };

    public static LoaderSettings Loader => new() { BatchSize = 4, Seed = 0, ImageSize = 16, MaxTextLength = 16 };

    public static Blip2Stage1Settings Stage1Settings(bool cache = false) => new()
    {
        Model = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig { HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 128, QueryTokens = 4 },
            EmbedDim = 16,
        },
        Trainer = Trainer,
        Loader = Loader,
        VisionLayer = -1,
        EvalTopK = 4,
        CacheImageFeatures = cache,
    };

    public static LlmPretrainSettings LlmSettings => new()
    {
        Architecture = LlmTokenizer.Opt, VocabSize = 300, HiddenSize = 32, Layers = 1, Heads = 2, FfnDim = 64, MaxPositions = 64, MaxTextLength = 24,
        BatchSize = 8, Trainer = Trainer,
    };

    public async Task InitializeAsync()
    {
        var dataset = SyntheticDataset.Plan(new SyntheticDatasetSettings { Images = 4, HumanImages = 16, TestImages = 4, WebNoise = 0, ImageSize = 16, Seed = 3 });
        Human = Path.Combine(Root, "human");
        await dataset[SyntheticDataset.Human].WriteAsync(Human, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        var downstream = SyntheticDataset.Plan(new SyntheticDatasetSettings
        {
            Images = 4, HumanImages = 16, TestImages = 4, WebNoise = 0, ImageSize = 16, Seed = 4, VqaQuestions = 2, Nlvr2Pairs = 2,
        });
        Downstream = Path.Combine(Root, "downstream");
        await downstream[SyntheticDataset.Human].WriteAsync(Downstream, downstream.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        var vqa = SyntheticDataset.Plan(new SyntheticDatasetSettings { Images = 4, HumanImages = 16, TestImages = 4, WebNoise = 0, ImageSize = 16, Seed = 3, VqaQuestions = 2 });
        HumanVqa = Path.Combine(Root, "human-vqa");
        await vqa[SyntheticDataset.Human].WriteAsync(HumanVqa, vqa.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        var pretrain = new BlipPretrainTask(
            new BlipBatchSourceFactory(), TinyBlip.Config() with { Text = TinyBlip.Config().Text with { VocabSize = 0 } },
            new BlipImageTextSettings { Trainer = Trainer, Loader = Loader, EvalTopK = 4 });
        Pretrained = (await pretrain.RunAsync(Local("pretrain", new() { ["train"] = [Human] }).Ports(BlipPretrainTask.Kind), CancellationToken.None)).Outputs["checkpoint"];

        var stage1 = new Blip2Stage1Task(new BlipBatchSourceFactory(), Stage1Settings());
        Stage1 = (await stage1.RunAsync(
            Local("stage1", new() { ["image_encoder"] = [Pretrained], ["train"] = [Human] }).Ports(Blip2Stage1Task.Kind), CancellationToken.None)).Outputs["checkpoint"];

        var llm = new LlmPretrainTask(LlmSettings);
        Llm = (await llm.RunAsync(Local("llm", new() { ["train"] = [Human] }).Ports(LlmPretrainTask.Kind), CancellationToken.None)).Outputs["llm"];

        var stage2 = new Blip2Stage2Task(new Blip2Stage2Settings { Trainer = Trainer, Loader = Loader with { MaxTextLength = 24 } });
        Stage2 = (await stage2.RunAsync(
            Local("stage2", new() { ["qformer"] = [Stage1], ["image_encoder"] = [Pretrained], ["llm"] = [Llm], ["train"] = [Human] }).Ports(Blip2Stage2Task.Kind),
            CancellationToken.None)).Outputs["checkpoint"];
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }

    private LocalTaskRun Local(string name, Dictionary<string, IReadOnlyList<string>> inputs) => new(Path.Combine(Root, name), inputs);
}

/// <summary>
/// Each kind that trains as a gang, run as two ranks of a gang (in-process collectives, a thread per rank, sharing one
/// work directory as two workers of one host may) and as one process with two replicas: the gang's rank 0 exports the
/// same weights, bit for bit, and rank 1 exports nothing.
/// </summary>
public sealed class GangKindsTests(GangKindsChain chain) : IClassFixture<GangKindsChain>
{
    private const int World = 2;

    [Fact]
    public async Task A_caption_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new BlipCaptionTask(new BlipCaptionSettings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader, Decoding = new CaptionDecodingSettings { MinLength = 1, MaxLength = 8 } });
        var inputs = Inputs(("init", chain.Pretrained), ("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("caption", BlipCaptionTask.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_vqa_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new BlipVqaTask(new BlipVqaSettings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader });
        var inputs = Inputs(("init", chain.Pretrained), ("train", chain.Downstream));

        await AssertGangTrainsLikeReplicasAsync("vqa", BlipVqaTask.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task An_nlvr2_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new BlipNlvr2Task(new BlipNlvr2Settings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader });
        var inputs = Inputs(("init", chain.Pretrained), ("train", chain.Downstream));

        await AssertGangTrainsLikeReplicasAsync("nlvr2", BlipNlvr2Task.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_stage1_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new Blip2Stage1Task(new BlipBatchSourceFactory(), GangKindsChain.Stage1Settings());
        var inputs = Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("stage1", Blip2Stage1Task.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_stage1_gang_with_the_feature_cache_computes_it_per_rank_in_folders_of_their_own_and_only_rank_0_keeps_it()
    {
        var task = new Blip2Stage1Task(new BlipBatchSourceFactory(), GangKindsChain.Stage1Settings(cache: true));
        var inputs = Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human));
        var caches = new RecordingCaches();

        var (gang, replicas, workDirectory) = await GangAndReplicasAsync(
            "stage1-cache", Blip2Stage1Task.Kind, inputs, task.RunAsync, ports => ports with { Inputs = new DigestedInputs(ports.Inputs), Caches = caches });

        AssertSameWeights(gang[0].Outputs["checkpoint"], replicas.Outputs["checkpoint"], CheckpointFiles.Weights);
        // Rank 1 kept nothing; the one-process run (rank 0 too) kept the same key again.
        Assert.Equal(2, caches.Kept.Count);
        Assert.Single(caches.Kept.Distinct());
        Assert.True(File.Exists(Path.Combine(workDirectory, FrozenFeatureCache.CacheName, FrozenFeatureCache.DescriptionFile)));
        Assert.True(File.Exists(Path.Combine(workDirectory, FrozenFeatureCache.CacheName + "-rank-1", FrozenFeatureCache.DescriptionFile)));
        Assert.Equal(16.0, gang[0].Metrics["feature_cache_images"]);
    }

    [Fact]
    public async Task An_llm_pretrain_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new LlmPretrainTask(GangKindsChain.LlmSettings);
        var inputs = Inputs(("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("llm", LlmPretrainTask.Kind, inputs, task.RunAsync, "llm", CheckpointImport.WeightsFile);
    }

    [Fact]
    public async Task A_stage2_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new Blip2Stage2Task(new Blip2Stage2Settings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader with { MaxTextLength = 24 } });
        var inputs = Inputs(("qformer", chain.Stage1), ("image_encoder", chain.Pretrained), ("llm", chain.Llm), ("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("stage2", Blip2Stage2Task.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_blip2_caption_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new Blip2CaptionFinetuneTask(new Blip2CaptionFinetuneSettings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader with { MaxTextLength = 24 } });
        var inputs = Inputs(("init", chain.Stage2), ("image_encoder", chain.Pretrained), ("llm", chain.Llm), ("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("blip2-caption", Blip2CaptionFinetuneTask.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_blip2_retrieval_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new Blip2RetrievalFinetuneTask(new BlipBatchSourceFactory(), new Blip2RetrievalFinetuneSettings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader, EvalTopK = 4 });
        var inputs = Inputs(("init", chain.Stage1), ("image_encoder", chain.Pretrained), ("train", chain.Human));

        await AssertGangTrainsLikeReplicasAsync("blip2-retrieval", Blip2RetrievalFinetuneTask.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    [Fact]
    public async Task A_blip2_vqa_finetune_as_a_gang_of_two_trains_the_bits_of_two_replicas_in_one_process()
    {
        var task = new Blip2VqaFinetuneTask(new Blip2VqaFinetuneSettings { Trainer = GangKindsChain.Trainer, Loader = GangKindsChain.Loader with { MaxTextLength = 60 } });
        var inputs = Inputs(("init", chain.Stage2), ("qformer", chain.Stage1), ("image_encoder", chain.Pretrained), ("llm", chain.Llm), ("train", chain.HumanVqa));

        await AssertGangTrainsLikeReplicasAsync("blip2-vqa", Blip2VqaFinetuneTask.Kind, inputs, task.RunAsync, "checkpoint", CheckpointFiles.Weights);
    }

    private static Dictionary<string, IReadOnlyList<string>> Inputs(params (string Name, string Folder)[] inputs) =>
        inputs.ToDictionary(input => input.Name, input => (IReadOnlyList<string>)[input.Folder]);

    private static void AssertSameWeights(string expected, string actual, string file) =>
        Assert.True(File.ReadAllBytes(Path.Combine(expected, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, file))), $"{file} differs");

    private async Task AssertGangTrainsLikeReplicasAsync(
        string name, string kind, Dictionary<string, IReadOnlyList<string>> inputs, Func<TaskRun, CancellationToken, Task<TaskResult>> run, string output, string weights)
    {
        var (gang, replicas, _) = await GangAndReplicasAsync(name, kind, inputs, run, ports => ports);

        Assert.Equal([output], gang[0].Outputs.Keys);
        Assert.Empty(gang[1].Outputs);
        Assert.Equal(replicas.Metrics["loss"], gang[1].Metrics["loss"]);
        AssertSameWeights(replicas.Outputs[output], gang[0].Outputs[output], weights);
    }

    /// <summary>The gang's two results (both ranks in one work directory) and the one-process run's with two replicas.</summary>
    private async Task<(TaskResult[] Gang, TaskResult Replicas, string WorkDirectory)> GangAndReplicasAsync(
        string name, string kind, Dictionary<string, IReadOnlyList<string>> inputs, Func<TaskRun, CancellationToken, Task<TaskResult>> run, Func<TaskRun, TaskRun> adapt)
    {
        var shared = new LocalTaskRun(Path.Combine(chain.Root, name, "gang"), inputs);
        TaskResult[] gang;
        using (var group = new InProcessCollectives(World))
        {
            gang = await Task.WhenAll(Enumerable.Range(0, World).Select(rank =>
            {
                var ports = adapt(shared.Ports(kind)) with { Identity = new RunIdentity(kind, rank, World, CPU), Gang = group.ForRank(rank) };
                return Task.Run(() => run(ports, CancellationToken.None));
            }));
        }

        var alone = new LocalTaskRun(Path.Combine(chain.Root, name, "replicas"), inputs);
        var replicas = await run(adapt(alone.Ports(kind)) with { Replicas = World }, CancellationToken.None);
        return (gang, replicas, shared.Ports(kind).WorkDirectory);
    }

    /// <summary>Inputs with content digests (the folder's name), as a worker's store gives them, so the feature cache has a key.</summary>
    private sealed class DigestedInputs(ITaskInputs inputs) : ITaskInputs
    {
        public async Task<IReadOnlyList<InputFolder>> FetchAsync(string name, CancellationToken cancellationToken) =>
            [.. (await inputs.FetchAsync(name, cancellationToken)).Select(input => input with { ContentDigest = "sha256:" + input.Name })];
    }

    /// <summary>A cache port that finds nothing and records every key kept.</summary>
    private sealed class RecordingCaches : ITaskCaches
    {
        private readonly Lock _lock = new();

        public List<string> Kept { get; } = [];

        public Task<string?> FindAsync(string cache, string key, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public Task KeepAsync(string cache, string key, string directory, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                Kept.Add(key);
            }

            return Task.CompletedTask;
        }
    }
}
