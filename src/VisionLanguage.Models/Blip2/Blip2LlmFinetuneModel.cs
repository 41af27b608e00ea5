using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// One (micro-)batch of a BLIP-2 finetune through the frozen LLM: the images themselves (the encoder trains), the LLM's
/// texts already tokenized and labelled (<see cref="ISoftPromptedLlm.Loss"/>), and for VQA the question in the
/// Q-Former's own vocabulary.
/// </summary>
/// <param name="Images">(B, 3, H, W), normalised.</param>
/// <param name="QuestionIds">The question for the Q-Former (B, Tq), [CLS] … [SEP]; null where the Q-Former reads no text (captioning).</param>
/// <param name="QuestionMask">1 on the question's tokens, 0 on padding (B, Tq); null with <paramref name="QuestionIds"/>.</param>
/// <param name="InputIds">The LLM's text (decoder-only) or encoder input (encoder-decoder) (B, T).</param>
/// <param name="InputMask">1 on tokens, 0 on padding (B, T).</param>
/// <param name="Labels">Targets, −100 where nothing is learned.</param>
public sealed record Blip2LlmFinetuneBatch(Tensor Images, Tensor? QuestionIds, Tensor? QuestionMask, Tensor InputIds, Tensor InputMask, Tensor Labels)
    : IDisposable, IDeviceBatch<Blip2LlmFinetuneBatch>
{
    public Blip2LlmFinetuneBatch To(Device device) =>
        new[] { Images, QuestionIds, QuestionMask, InputIds, InputMask, Labels }.All(tensor => tensor is null || TensorPlacement.IsOn(tensor, device))
            ? this
            : new Blip2LlmFinetuneBatch(Images.to(device), QuestionIds?.to(device), QuestionMask?.to(device), InputIds.to(device), InputMask.to(device), Labels.to(device));

    public void Dispose()
    {
        Images.Dispose();
        QuestionIds?.Dispose();
        QuestionMask?.Dispose();
        InputIds.Dispose();
        InputMask.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// The shape of a BLIP-2 finetune through a frozen LLM: the stage-2 parts, and the image encoder that now trains.
/// </summary>
/// <param name="Qformer">The Q-Former: queries only (captioning), or with its text side (VQA, the question read beside the queries).</param>
/// <param name="Llm"><c>opt</c> or <c>t5</c>: names the projection.</param>
/// <param name="LlmWidth">The LLM's input-embedding width.</param>
/// <param name="EncoderFamily">How the encoder is built and named.</param>
/// <param name="Vision">The encoder's shape at the stage's image size.</param>
/// <param name="BlocksUsed">Encoder blocks whose output is read (as stage 1 read them).</param>
public sealed record Blip2LlmFinetuneConfig(QFormerConfig Qformer, string Llm, long LlmWidth, ImageEncoderFamily EncoderFamily, VitConfig Vision, int BlocksUsed)
{
    public string ProjectionName => $"{Llm}_proj";

    public string EncoderPrefix => FrozenImageEncoder.WeightsPrefix(EncoderFamily);
}

/// <summary>The finetune's one loss: the frozen LLM's language-modelling loss on the caption or the answer.</summary>
public sealed record Blip2LlmFinetuneOutput(Tensor Loss) : ITrainingOutput
{
    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("lm", Loss)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}

/// <summary>
/// BLIP-2 finetuned through a frozen LLM (LAVIS <c>Blip2OPT</c>/<c>Blip2T5</c> with <c>freeze_vit: False</c>, as the
/// caption finetune runs them; for VQA, the question also enters the Q-Former as InstructBLIP's
/// <c>qformer_text_input</c>): the image encoder, <c>ln_vision</c>, the Q-Former, <c>query_tokens</c> and the projection
/// train in float32; the LLM is held frozen, as in stage 2, and gradients reach the soft prompt through it. Fields, in
/// LAVIS's names: <c>visual_encoder</c> (or CLIP's <c>vision_model</c>), <c>ln_vision</c>, <c>Qformer</c>,
/// <c>query_tokens</c>, <c>opt_proj</c>/<c>t5_proj</c>.
/// </summary>
public sealed class Blip2LlmFinetuneModel : nn.Module, ITrainableModel<Blip2LlmFinetuneBatch>
{
    public const string Format = "blip2.finetune.llm.checkpoint/1";

    private readonly nn.Module _encoder;
    private readonly IVisionFeatures _vision;
    private readonly LayerNorm _lnVision;
    private readonly QFormerLMHeadModel _qformer;
    private readonly Parameter _queryTokens;
    private readonly Linear _projection;
    private readonly Generator _randomness;
    private readonly Lazy<double> _trainableShare;

    /// <param name="config">Shapes; the LLM's must be <paramref name="llm"/>'s.</param>
    /// <param name="llm">The LLM, which the model freezes, uses and disposes.</param>
    /// <param name="seed">Seed of the fresh weights (the projection of a stage 2 without one) and of the Q-Former's dropout.</param>
    /// <param name="device">Where the trainable part runs; the CPU when null.</param>
    public Blip2LlmFinetuneModel(Blip2LlmFinetuneConfig config, ISoftPromptedLlm llm, long seed, Device? device = null)
        : base(nameof(Blip2LlmFinetuneModel))
    {
        if (config.LlmWidth != llm.Width || config.Llm != llm.Architecture || config.Qformer.EncoderWidth != config.Vision.Width)
        {
            throw new ArgumentException(
                $"the finetune was configured for {config.Llm} of width {config.LlmWidth} over an encoder {config.Qformer.EncoderWidth} wide; got {llm.Architecture} of width {llm.Width} and an encoder {config.Vision.Width} wide");
        }

        config.Qformer.Check();
        Config = config;
        Llm = llm;
        LlmFreezing.Freeze(llm.Module);
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        var q = config.Qformer;
        (_encoder, _vision) = ImageEncoderBackbone.Create(config.EncoderFamily, config.Vision);
        _lnVision = nn.LayerNorm(q.EncoderWidth);
        _qformer = new QFormerLMHeadModel(q, init, _randomness);
        _queryTokens = new Parameter(zeros(1, q.QueryTokens, q.HiddenSize, device: CPU));
        using (no_grad())
        {
            _queryTokens.normal_(0.0, q.InitializerRange, init);
        }

        _projection = nn.Linear(q.HiddenSize, config.LlmWidth);
        BlipInit.Default(_projection.weight, _projection.bias, init);
        register_module(config.EncoderPrefix, _encoder);
        register_module("ln_vision", _lnVision);
        register_module("Qformer", _qformer);
        register_parameter("query_tokens", _queryTokens);
        register_module(config.ProjectionName, _projection);

        // Blocks past those read give no output anyone uses (LAVIS builds the encoder without them).
        foreach (var (name, parameter) in _encoder.named_parameters().Where(entry => ImageEncoderBackbone.IsUnreadBlock("." + entry.name, config.BlocksUsed)))
        {
            parameter.requires_grad = false;
        }

        // With its text side the Q-Former reads questions; its LM head (all but the word embeddings it shares) is never used.
        if (!q.QueriesOnly)
        {
            var words = _qformer.Bert.Embeddings.WordEmbeddings.Handle;
            foreach (var (_, parameter) in _qformer.named_parameters().Where(entry => entry.name.StartsWith("cls.", StringComparison.Ordinal) && entry.parameter.Handle != words))
            {
                parameter.requires_grad = false;
            }
        }

        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;
        _trainableShare = new Lazy<double>(() =>
        {
            double trainable = TrainableParameters().Sum(entry => entry.Parameter.numel());
            return trainable / (LlmFreezing.ParameterCount(this) + LlmFreezing.ParameterCount(Llm.Module));
        });
    }

    public Blip2LlmFinetuneConfig Config { get; }

    /// <summary>The frozen LLM.</summary>
    public ISoftPromptedLlm Llm { get; }

    /// <summary>Whether the Q-Former reads a question beside its queries (VQA).</summary>
    public bool ReadsQuestions => !Config.Qformer.QueriesOnly;

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _randomness;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Layers.TrainableParameters.Distinct(this);

    /// <summary>Trainable parameters over all parameters, the frozen LLM's included.</summary>
    public double TrainableShare() => _trainableShare.Value;

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(Blip2LlmFinetuneBatch batch, TrainingStep step) => Forward(batch);

    public Blip2LlmFinetuneOutput Forward(Blip2LlmFinetuneBatch batch)
    {
        using var scope = NewDisposeScope();
        var softPrompt = SoftPrompt(batch.Images, batch.QuestionIds, batch.QuestionMask);
        return new Blip2LlmFinetuneOutput(Llm.Loss(softPrompt, batch.InputIds, batch.InputMask, batch.Labels).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The soft visual prompt (B, Q, LLM width) of images (B, 3, H, W): the encoder's tokens through <c>ln_vision</c>,
    /// cross-attended by the queries, which also attend to the question (<paramref name="questionIds"/>, B × Tq) when
    /// one is given (InstructBLIP: one pass over <c>[queries ; question]</c> with the padding mask, only the query
    /// outputs projected).
    /// </summary>
    public Tensor SoftPrompt(Tensor images, Tensor? questionIds = null, Tensor? questionMask = null)
    {
        using var scope = NewDisposeScope();
        var tokens = _vision.Features(TensorPlacement.On(images, Device), Config.BlocksUsed);        // (B, S, V)
        var imageEmbeds = _lnVision.call(tokens);
        var queryCount = _queryTokens.shape[1];
        var queries = _queryTokens.expand(imageEmbeds.shape[0], -1, -1);                             // (B, Q, D)
        Tensor output;
        if (questionIds is null)
        {
            (output, _) = _qformer.Bert.Forward(null, queries, null, imageEmbeds);                   // (B, Q, D)
        }
        else
        {
            if (!ReadsQuestions)
            {
                throw new InvalidOperationException("this Q-Former takes queries only; a question needs its text side");
            }

            var ids = TensorPlacement.On(questionIds, Device);
            var mask = TensorPlacement.On(questionMask ?? ones_like(questionIds), Device);
            var keep = cat([ones(ids.shape[0], queryCount, dtype: mask.dtype, device: mask.device), mask], 1);   // (B, Q + Tq)
            var (hidden, _) = _qformer.Bert.Forward(ids, queries, QFormerMasks.Padding(keep), imageEmbeds);   // (B, Q + Tq, D)
            output = hidden.narrow(1, 0, queryCount);                                                          // (B, Q, D)
        }

        return _projection.call(output).MoveToOuterDisposeScope();
    }

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double> { ["trainable_share"] = _trainableShare.Value };

    public JsonObject Describe() => new()
    {
        ["model"] = JsonSerializer.SerializeToNode(Config, BlipCheckpointDescription.Json),
    };

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, Config.Vision.GridSize, path, loading);

    /// <summary>
    /// Starts the model from its sources, each leniently and in this order, later files winning where names meet: the
    /// image encoder's weights (position embeddings resized to the stage's grid), a stage-1 Q-Former for the text side
    /// stage 2 trimmed (VQA), and the stage-2 (or finetuned) checkpoint. Throws, naming them and <paramref name="fix"/>,
    /// when a tensor of the model is in none of them.
    /// </summary>
    public void LoadSources(IReadOnlyList<string> paths, string fix)
    {
        HashSet<string>? missing = null;
        foreach (var path in paths)
        {
            WeightsLoadReport report;
            try
            {
                report = BlipWeights.Load(this, Config.Vision.GridSize, path, WeightsLoading.Lenient);
            }
            catch (InvalidDataException wrongShapes)
            {
                throw new InvalidDataException($"{wrongShapes.Message}; {fix}", wrongShapes);
            }

            missing = missing is null ? [.. report.Missing] : [.. missing.Intersect(report.Missing)];
        }

        if (missing is { Count: > 0 })
        {
            var sorted = missing.Order(StringComparer.Ordinal).ToList();
            throw new InvalidDataException(
                $"{sorted.Count} tensors of the model are in none of {string.Join(", ", paths)}, e.g. {string.Join(", ", sorted.Take(3))}; {fix}");
        }
    }

    /// <summary>Training mode switches the Q-Former's dropout (the ViT has none); the LLM has none and stays as it is.</summary>
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
