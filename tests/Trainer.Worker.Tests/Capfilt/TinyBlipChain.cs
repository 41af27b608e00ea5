using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using VisionLanguage.Tasks.Pretraining;

namespace Trainer.Worker.Tests.Capfilt;

/// <summary>
/// A miniature of the CapFilt chain, built once for the tests that share it: a tiny synthetic dataset (16 web images,
/// 40 % of their captions corrupted; 8 human; 4 test), a one-epoch pretrain of a very small BLIP, and a filter
/// (retrieval finetune) and a captioner (caption finetune) from it on the human split. Sizes keep each stage to seconds, not to learning anything.
/// </summary>
public sealed class TinyBlipChain : IAsyncLifetime
{
    /// <summary>The data sizes and batches of every training stage here: 16-pixel images, captions of 16 tokens, batches of 4.</summary>
    public const string DataSizes = """
        "image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1
        """;

    /// <summary>A model small enough for tests, one block each side, width 32: the shape a pretrain builds and the finetunes take from it.</summary>
    public const string Shape = DataSizes + """
        ,"patch_size":8,"vision_width":32,"vision_depth":1,"vision_heads":2,"text_width":32,"text_layers":1,"text_heads":2,"embed_dim":16
        """;

    /// <summary>Pretraining: <see cref="Shape"/>, a short queue and a short ITM re-rank.</summary>
    public const string PretrainOptions = Shape + """, "queue_size":16,"eval_top_k":4""";

    /// <summary>The retrieval finetune (the filter): its data sizes, a short queue and a short ITM re-rank; the shape is its init's.</summary>
    public const string RetrievalOptions = DataSizes + """, "queue_size":16,"eval_top_k":4""";

    public const int WebImages = 16;

    private readonly string _root = Directory.CreateTempSubdirectory("capfilt-chain-").FullName;

    public TinyBlipChain() => Chain = new StageChain(_root);

    public StageChain Chain { get; }

    /// <summary>The data side as the worker registers it.</summary>
    public BlipBatchSourceFactory Data { get; } = new();

    public ArtifactReference Web { get; private set; } = null!;

    public ArtifactReference Human { get; private set; } = null!;

    public ArtifactReference Test { get; private set; } = null!;

    public ArtifactReference Pretrained { get; private set; } = null!;

    public ArtifactReference Filter { get; private set; } = null!;

    /// <summary>The model that writes synthetic captions.</summary>
    public ArtifactReference Captioner { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (data, _) = await Chain.RunAsync(new SyntheticDatasetRunner(), "data",
            $$"""{"images":{{WebImages}},"human_images":8,"test_images":4,"web_noise":0.4,"image_size":16,"seed":3}""", StageChain.Inputs());
        (Web, Human, Test) = (data.Outputs["web"], data.Outputs["human"], data.Outputs["test"]);
        var (pretrain, _) = await Chain.RunAsync(new BlipPretrainRunner(Data), "pretrain",
            $$"""{ {{PretrainOptions}}, "epochs":1,"checkpoint_every_steps":100}""", StageChain.Inputs(("train", Web)));
        Pretrained = pretrain.Outputs["checkpoint"];
        var (filter, _) = await Chain.RunAsync(new BlipRetrievalFinetuneRunner(Data), "filter",
            $$"""{ {{RetrievalOptions}}, "epochs":1,"checkpoint_every_steps":100}""", StageChain.Inputs(("init", Pretrained), ("train", Human)));
        Filter = filter.Outputs["checkpoint"];
        var (captioner, _) = await Chain.RunAsync(new BlipCaptionRunner(), "captioner",
            $$"""{ {{DataSizes}}, "epochs":1,"checkpoint_every_steps":100}""", StageChain.Inputs(("init", Pretrained), ("train", Human)));
        Captioner = captioner.Outputs["checkpoint"];
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
