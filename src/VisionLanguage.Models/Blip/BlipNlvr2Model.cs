using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// One (micro-)batch of NLVR2 examples: a statement about a pair of images, and whether it is true. Whoever holds a batch
/// owns its tensors; <see cref="Dispose"/> frees them.
/// </summary>
/// <param name="LeftImages">The first ("left") image of each pair, float32 (B, 3, H, W).</param>
/// <param name="RightImages">The second ("right") image of each pair, float32 (B, 3, H, W).</param>
/// <param name="TextIds">Statement ids, int64 (B, L): [CLS] … [SEP], then [PAD]; the model puts [ENC] first.</param>
/// <param name="TextMask">Attention mask, int64 (B, L).</param>
/// <param name="Labels">1 when the statement is true of the pair, else 0; int64 (B).</param>
public sealed record BlipNlvr2Batch(Tensor LeftImages, Tensor RightImages, Tensor TextIds, Tensor TextMask, Tensor Labels)
    : IDisposable, IDeviceBatch<BlipNlvr2Batch>
{
    public int Size => (int)LeftImages.shape[0];

    /// <summary>Throws when the tensors' shapes disagree, naming each.</summary>
    public void Validate()
    {
        var size = LeftImages.shape[0];
        if (LeftImages.dim() != 4 || LeftImages.shape[1] != 3 || !RightImages.shape.SequenceEqual(LeftImages.shape))
        {
            throw new ArgumentException(
                $"LeftImages and RightImages must be (batch, 3, H, W) of one shape; got ({string.Join(", ", LeftImages.shape)}) and ({string.Join(", ", RightImages.shape)})");
        }

        if (TextIds.dim() != 2 || TextIds.shape[0] != size || TextIds.dtype != ScalarType.Int64 || !TextMask.shape.SequenceEqual(TextIds.shape))
        {
            throw new ArgumentException(
                $"TextIds and TextMask must be int64 ({size}, L); got {TextIds.dtype} ({string.Join(", ", TextIds.shape)}) and ({string.Join(", ", TextMask.shape)})");
        }

        if (!Labels.shape.SequenceEqual([size]) || Labels.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"Labels must be int64 ({size}); got {Labels.dtype} ({string.Join(", ", Labels.shape)})");
        }
    }

    public BlipNlvr2Batch To(Device device) =>
        Tensors.All(tensor => TensorPlacement.IsOn(tensor, device))
            ? this
            : new BlipNlvr2Batch(LeftImages.to(device), RightImages.to(device), TextIds.to(device), TextMask.to(device), Labels.to(device));

    public void Dispose()
    {
        foreach (var tensor in Tensors)
        {
            tensor.Dispose();
        }
    }

    private Tensor[] Tensors => [LeftImages, RightImages, TextIds, TextMask, Labels];
}

/// <summary>What one NLVR2 forward pass gives: the classifier's cross-entropy, the whole loss, and its logits (B, 2).</summary>
public sealed record BlipNlvr2Output(Tensor LossNlvr2, Tensor Logits) : ITrainingOutput
{
    public Tensor Loss => LossNlvr2;

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("nlvr2", LossNlvr2)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}

/// <summary>
/// BLIP NLVR2 (BLIP <c>models/blip_nlvr.py</c>, LAVIS <c>BlipNLVR</c>): both images of a pair go through the one ViT
/// (concatenated on the batch, then split); the statement, [ENC] first, goes through <see cref="NlvrBertModel"/>, whose
/// layers cross-attend to each image separately and merge the two (averaged in the first half of the layers,
/// concatenated and projected in the second); <c>cls_head</c> (Linear, ReLU, Linear to 2) reads the [ENC] output;
/// cross-entropy without smoothing. Every parameter trains. Started from a pretrained BLIP, both cross-attentions of a
/// layer take the pretrained layer's one (<see cref="PretrainedAliases"/>: <c>self0</c> and <c>self1</c> from
/// <c>self</c>, <c>dense0</c> and <c>dense1</c> from <c>dense</c>); <c>merge_layer</c> and <c>cls_head</c> start fresh.
/// </summary>
public sealed partial class BlipNlvr2Model : nn.Module<BlipNlvr2Batch, BlipNlvr2Output>, ITrainableModel<BlipNlvr2Batch>
{
    public const string Format = "blip.nlvr2.checkpoint/1";

    private readonly VisionTransformer visual_encoder;
    private readonly NlvrBertModel text_encoder;
    private readonly Sequential cls_head;

    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;

    /// <param name="config">Shapes.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights (replaced when a checkpoint is loaded) and, until reseeded, of dropout.</param>
    /// <param name="device">Where the model runs; the CPU when null. Move it only this way.</param>
    public BlipNlvr2Model(BlipModelConfig config, BlipSpecialTokens tokens, long seed, Device? device = null)
        : base(nameof(BlipNlvr2Model))
    {
        config.CheckWidths();
        Config = config;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        visual_encoder = new VisionTransformer(config.Vision, init);
        text_encoder = new NlvrBertModel(config.Text, init, _randomness);
        var hidden = nn.Linear(config.Text.HiddenSize, config.Text.HiddenSize);
        var classes = nn.Linear(config.Text.HiddenSize, 2);
        BlipInit.Default(hidden.weight, hidden.bias, init);
        BlipInit.Default(classes.weight, classes.bias, init);
        cls_head = nn.Sequential(("0", hidden), ("1", nn.ReLU()), ("2", classes));
        RegisterComponents();
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;
    }

    public BlipModelConfig Config { get; }

    public BlipSpecialTokens Tokens => _tokens;

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _randomness;

    public Device Device { get; }

    public bool IsTraining => training;

    /// <summary>The statement encoder, for inspection.</summary>
    public NlvrBertModel TextEncoder => text_encoder;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    public override BlipNlvr2Output forward(BlipNlvr2Batch batch)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        var logits = Logits(batch.LeftImages, batch.RightImages, batch.TextIds, batch.TextMask); // (B, 2)
        var loss = nn.functional.cross_entropy(logits, batch.Labels);
        return new BlipNlvr2Output(loss.MoveToOuterDisposeScope(), logits.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The classifier's logits (B, 2) (false, true) for statements (B, L) about image pairs: both images through the ViT in
    /// one batch (left images first), the statement's [ENC] output through <c>cls_head</c>.
    /// </summary>
    public Tensor Logits(Tensor leftImages, Tensor rightImages, Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        var size = leftImages.shape[0];
        var embeds = visual_encoder.call(cat([TensorPlacement.On(leftImages, Device), TensorPlacement.On(rightImages, Device)], dim: 0)); // (2B, 1 + P, Dv)
        var ids = ImageTextMatching.WithFirstToken(TensorPlacement.On(textIds, Device), _tokens.EncId);
        var hidden = text_encoder.call(ids, TensorPlacement.On(textMask, Device), embeds.narrow(0, 0, size), embeds.narrow(0, size, size)); // (B, L, D)
        return cls_head.call(hidden.select(1, 0)).MoveToOuterDisposeScope();
    }

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(BlipNlvr2Batch batch, TrainingStep step) => call(batch);

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double>();

    public JsonObject Describe() => BlipCheckpointDescription.Of(Config, _tokens);

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    /// <summary>Strictly, this model's own checkpoint; leniently, a pretrained BLIP's, each layer's cross-attention copied to both (<see cref="PretrainedAliases"/>).</summary>
    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) =>
        BlipWeights.Load(this, Config.Vision.GridSize, path, loading, PretrainedAliases);

    public void SetTraining(bool training) => train(training);

    /// <summary>
    /// Where a pretrained checkpoint holds a layer's twin cross-attention (BLIP <c>blip_nlvr.py::load_checkpoint</c>): every
    /// <c>crossattention.self0.</c> and <c>crossattention.self1.</c> tensor is the pretrained <c>crossattention.self.</c>
    /// one, every <c>crossattention.output.dense0.</c> and <c>dense1.</c> tensor the pretrained <c>crossattention.output.dense.</c>.
    /// </summary>
    public static IEnumerable<string> PretrainedAliases(string name)
    {
        var twin = TwinName().Match(name);
        if (twin.Success)
        {
            yield return name[..twin.Index] + twin.Groups["part"].Value + name[(twin.Index + twin.Length)..];
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
        }

        base.Dispose(disposing);
    }

    [GeneratedRegex(@"(?<=\.crossattention\.)(?<part>self|output\.dense)[01](?=\.)", RegexOptions.CultureInvariant)]
    private static partial Regex TwinName();
}
