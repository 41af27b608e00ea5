using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// One (micro-)batch of stage 2: the frozen image encoder's tokens and the LLM's texts, already tokenized and labelled
/// (<see cref="ISoftPromptedLlm.Loss"/> says how for each architecture).
/// </summary>
/// <param name="ImageFeatures">The frozen encoder's tokens, before <c>ln_vision</c> (B, S, V).</param>
/// <param name="InputIds">The decoder-only model's text, or the encoder-decoder's prefix (B, T).</param>
/// <param name="InputMask">1 on tokens, 0 on padding (B, T).</param>
/// <param name="Labels">Targets, −100 where nothing is learned.</param>
public sealed record Blip2Stage2Batch(Tensor ImageFeatures, Tensor InputIds, Tensor InputMask, Tensor Labels) : IDisposable, IDeviceBatch<Blip2Stage2Batch>
{
    public Blip2Stage2Batch To(Device device) =>
        TensorPlacement.IsOn(ImageFeatures, device) && TensorPlacement.IsOn(InputIds, device) && TensorPlacement.IsOn(InputMask, device) && TensorPlacement.IsOn(Labels, device)
            ? this
             : new Blip2Stage2Batch(ImageFeatures.to(device), InputIds.to(device), InputMask.to(device), Labels.to(device));

    public void Dispose()
    {
        ImageFeatures.Dispose();
        InputIds.Dispose();
        InputMask.Dispose();
        Labels.Dispose();
    }
}

/// <summary>Stage 2's one loss: the frozen LLM's language-modelling loss on the texts after the soft prompt.</summary>
public sealed record Blip2Stage2Output(Tensor Loss) : ITrainingOutput
{
    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("lm", Loss)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}

/// <summary>Stage 2's shape: the trimmed Q-Former (<see cref="QFormerConfig.QueriesOnly"/>) and the LLM it prompts.</summary>
/// <param name="Qformer">The stage-1 Q-Former's shape, queries only.</param>
/// <param name="Llm">The LLM's architecture, <c>opt</c> or <c>t5</c>: it names the projection (<c>opt_proj</c>, <c>t5_proj</c>).</param>
/// <param name="LlmWidth">The LLM's input-embedding width, the projection's output.</param>
public sealed record Blip2Stage2Config(QFormerConfig Qformer, string Llm, long LlmWidth)
{
    public string ProjectionName => $"{Llm}_proj";
}

/// <summary>
/// BLIP-2 stage 2 (LAVIS <c>Blip2OPT</c>, <c>Blip2T5</c>): the stage-1 Q-Former's query outputs over the frozen image
/// encoder's tokens, projected by one linear layer (<c>opt_proj</c> or <c>t5_proj</c>) to the LLM's embedding width,
/// are a soft visual prompt in front of the frozen LLM's text, and the LLM's language-modelling loss trains the
/// Q-Former side. The LLM is held, not registered: it is in no parameter list, optimiser or checkpoint of this model,
/// which holds <c>ln_vision</c>, <c>Qformer</c> (trimmed as LAVIS trims it), <c>query_tokens</c> and the projection.
/// </summary>
public sealed class Blip2Stage2Model : nn.Module, ITrainableModel<Blip2Stage2Batch>
{
    public const string Format = "blip2.stage2.checkpoint/1";

    private readonly LayerNorm _lnVision;
    private readonly QFormerLMHeadModel _qformer;
    private readonly Parameter _queryTokens;
    private readonly Linear _projection;
    private readonly Generator _randomness;
    private readonly Lazy<double> _trainableShare;

    /// <param name="config">Shapes; <see cref="Blip2Stage2Config.LlmWidth"/> must be <paramref name="llm"/>'s.</param>
    /// <param name="llm">The LLM, which the model freezes, uses and disposes.</param>
    /// <param name="seed">Seed of the projection's initial weights and of the Q-Former's dropout.</param>
    /// <param name="device">Where the trainable part runs; the CPU when null (the LLM is placed by whoever loads it).</param>
    public Blip2Stage2Model(Blip2Stage2Config config, ISoftPromptedLlm llm, long seed, Device? device = null)
        : base(nameof(Blip2Stage2Model))
    {
        if (!config.Qformer.QueriesOnly || config.LlmWidth != llm.Width || config.Llm != llm.Architecture)
        {
            throw new ArgumentException(
                $"stage 2 needs a queries-only Q-Former and the LLM it was configured for ({config.Llm}, width {config.LlmWidth}); got {llm.Architecture} of width {llm.Width}");
        }

        config.Qformer.Check();
        Config = config;
        Llm = llm;
        LlmFreezing.Freeze(llm.Module);
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        var q = config.Qformer;
        _lnVision = nn.LayerNorm(q.EncoderWidth);
        _qformer = new QFormerLMHeadModel(q, init, _randomness);
        _queryTokens = new Parameter(zeros(1, q.QueryTokens, q.HiddenSize, device: CPU));
        using (no_grad())
        {
            _queryTokens.normal_(0.0, q.InitializerRange, init);
        }

        _projection = nn.Linear(q.HiddenSize, config.LlmWidth);
        BlipInit.Default(_projection.weight, _projection.bias, init);
        register_module("ln_vision", _lnVision);
        register_module("Qformer", _qformer);
        register_parameter("query_tokens", _queryTokens);
        register_module(config.ProjectionName, _projection);
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;
        _trainableShare = new Lazy<double>(() =>
        {
            double trainable = TrainableParameters().Sum(entry => entry.Parameter.numel());
            return trainable / (trainable + LlmFreezing.ParameterCount(Llm.Module));
        });
    }

    public Blip2Stage2Config Config { get; }

    /// <summary>The frozen LLM.</summary>
    public ISoftPromptedLlm Llm { get; }

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _randomness;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Layers.TrainableParameters.Distinct(this);

    /// <summary>Trainable parameters over all parameters, the frozen LLM's included (the image encoder is outside the model).</summary>
    public double TrainableShare() => _trainableShare.Value;

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(Blip2Stage2Batch batch, TrainingStep step) => Forward(batch);

    public Blip2Stage2Output Forward(Blip2Stage2Batch batch)
    {
        using var scope = NewDisposeScope();
        var softPrompt = SoftPrompt(batch.ImageFeatures);
        return new Blip2Stage2Output(Llm.Loss(softPrompt, batch.InputIds, batch.InputMask, batch.Labels).MoveToOuterDisposeScope());
    }

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    /// <summary>The soft visual prompt (B, Q, LLM width) of frozen-encoder tokens (B, S, V) before <c>ln_vision</c>.</summary>
    public Tensor SoftPrompt(Tensor frozenFeatures)
    {
        using var scope = NewDisposeScope();
        var imageEmbeds = _lnVision.call(TensorPlacement.On(frozenFeatures, Device));
        var queries = _queryTokens.expand(imageEmbeds.shape[0], -1, -1);
        var (output, _) = _qformer.Bert.Forward(null, queries, null, imageEmbeds);                   // (B, Q, D)
        return _projection.call(output).MoveToOuterDisposeScope();
    }

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    /// <summary>The trainable share of parameters, so that it is seen beside the loss while the stage trains.</summary>
    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double> { ["trainable_share"] = _trainableShare.Value };

    public JsonObject Describe() => new()
    {
        ["model"] = JsonSerializer.SerializeToNode(Config, BlipCheckpointDescription.Json),
    };

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, 0, path, loading);

    /// <summary>
    /// Takes <c>ln_vision</c>, the Q-Former and <c>query_tokens</c> from a stage-1 checkpoint's weights (LAVIS
    /// <c>load_from_pretrained</c> with <c>strict=False</c>), whose text-only parts and ITC/ITM heads are not used; the
    /// projection keeps its initial weights. Throws, naming them, when the file lacks any tensor but the projection's.
    /// </summary>
    public WeightsLoadReport LoadStage1(string path)
    {
        const string Fix = "bind input qformer to a blip2.stage1 output";
        WeightsLoadReport report;
        try
        {
            report = BlipWeights.Load(this, 0, path, WeightsLoading.Lenient);
        }
        catch (InvalidDataException wrongShapes)
        {
            throw new InvalidDataException($"{wrongShapes.Message}; {Fix}", wrongShapes);
        }

        var missing = report.Missing.Where(name => !name.StartsWith(Config.ProjectionName + ".", StringComparison.Ordinal)).ToList();
        return missing.Count == 0
            ? report
            : throw new InvalidDataException($"{path} is not a stage-1 Q-Former: it lacks {missing.Count} tensors, e.g. {string.Join(", ", missing.Take(3))}; {Fix}");
    }

    /// <summary>Training mode switches the Q-Former's dropout; the LLM has none and stays as it is.</summary>
    public void SetTraining(bool training) => train(training);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
            Llm.Dispose();
        }

        base.Dispose(disposing);
    }
}
