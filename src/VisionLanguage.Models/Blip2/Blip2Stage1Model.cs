using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// One (micro-)batch of stage 1: the frozen image encoder's output for each image and its caption. The encoder is not
/// part of the model: whoever makes the batch runs it (or reads its cached output), so it never enters the optimiser
/// or a checkpoint.
/// </summary>
/// <param name="ImageFeatures">The frozen encoder's tokens, before <c>ln_vision</c> (B, S, V).</param>
/// <param name="TextIds">Caption ids (B, T): [CLS] … [SEP], then [PAD].</param>
/// <param name="TextMask">1 on tokens, 0 on padding (B, T).</param>
/// <param name="ImageIds">An id per pair; pairs of one image are never each other's ITM negatives.</param>
public sealed record Blip2Stage1Batch(Tensor ImageFeatures, Tensor TextIds, Tensor TextMask, long[] ImageIds) : IDisposable, IDeviceBatch<Blip2Stage1Batch>
{
    public Blip2Stage1Batch To(Device device) =>
        TensorPlacement.IsOn(ImageFeatures, device) && TensorPlacement.IsOn(TextIds, device) && TensorPlacement.IsOn(TextMask, device)
            ? this
             : new Blip2Stage1Batch(ImageFeatures.to(device), TextIds.to(device), TextMask.to(device), ImageIds);

    public void Dispose()
    {
        ImageFeatures.Dispose();
        TextIds.Dispose();
        TextMask.Dispose();
    }
}

/// <summary>Stage 1's losses: ITC, ITM and ITG, and their unweighted sum (LAVIS <c>BlipOutput</c>).</summary>
public sealed record Blip2Stage1Output(Tensor LossItc, Tensor LossItm, Tensor LossItg) : ITrainingOutput
{
    public Tensor Loss { get; } = LossItc.Plus(LossItm).Plus(LossItg);

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("itc", LossItc), ("itm", LossItm), ("itg", LossItg)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}

/// <summary>
/// BLIP-2 stage 1 (LAVIS <c>Blip2Qformer</c>): learned queries extract, through the Q-Former's cross-attention, the
/// features of a frozen encoder's image tokens that text needs, trained by three objectives that share one Q-Former
/// under three attention masks (<see cref="QFormerMasks"/>): ITC (each query's similarity to the caption, the best
/// query counting, in-batch negatives from every rank), ITM (a bidirectional pass over queries and caption, hard
/// negatives from ITC's similarities) and ITG (the caption generated from the queries, which it sees through their
/// cached keys and values). Fields, in LAVIS's order and names: <c>ln_vision</c>, <c>Qformer</c>, <c>query_tokens</c>,
/// <c>vision_proj</c>, <c>text_proj</c>, <c>itm_head</c>, <c>temp</c>.
/// </summary>
public sealed class Blip2Stage1Model : nn.Module<Blip2Stage1Batch, Blip2Stage1Output>, ITrainableModel<Blip2Stage1Batch>, IGathersAcrossRanks
{
    public const string Format = "blip2.stage1.checkpoint/1";

    private readonly LayerNorm ln_vision;
    private readonly QFormerLMHeadModel Qformer;
    private readonly Parameter query_tokens;
    private readonly Linear vision_proj;
    private readonly Linear text_proj;
    private readonly Linear itm_head;
    private readonly Parameter temp;
    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;

    /// <param name="config">Shapes and objective settings.</param>
    /// <param name="tokens">The tokenizer's special ids ([DEC] starts ITG's captions).</param>
    /// <param name="seed">Seed of the weights and, until reseeded, of <see cref="Randomness"/>.</param>
    /// <param name="device">Where the model runs; the CPU when null.</param>
    public Blip2Stage1Model(Blip2Stage1Config config, BlipSpecialTokens tokens, long seed, Device? device = null)
        : base(nameof(Blip2Stage1Model))
    {
        config.Qformer.Check();
        Config = config;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        var q = config.Qformer;

        ln_vision = nn.LayerNorm(q.EncoderWidth);
        Qformer = new QFormerLMHeadModel(q, init, _randomness);
        query_tokens = new Parameter(zeros(1, q.QueryTokens, q.HiddenSize, device: CPU));
        using (no_grad())
        {
            query_tokens.normal_(0.0, q.InitializerRange, init);
        }

        vision_proj = nn.Linear(q.HiddenSize, config.EmbedDim);
        text_proj = nn.Linear(q.HiddenSize, config.EmbedDim);
        itm_head = nn.Linear(q.HiddenSize, 2);
        BlipInit.Default(vision_proj.weight, vision_proj.bias, init);
        BlipInit.Default(text_proj.weight, text_proj.bias, init);
        BlipInit.Default(itm_head.weight, itm_head.bias, init);
        temp = new Parameter(full(Array.Empty<long>(), config.Temperature, dtype: float32, device: CPU));
        RegisterComponents();
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;
    }

    public Blip2Stage1Config Config { get; }

    public BlipSpecialTokens Tokens => _tokens;

    /// <summary>In-batch negatives from every rank (identity in one process); the training loop binds it while replicas train together.</summary>
    public IBatchGather Gather { get; set; } = SingleProcessGather.Instance;

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _randomness;

    public Parameter Temperature => temp;

    public QFormerLMHeadModel QFormer => Qformer;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Layers.TrainableParameters.Distinct(this);

    /// <summary>Parameters, each counted once (the LM head's output weights are the word embeddings).</summary>
    public long ParameterCount() => TrainableParameters().Sum(entry => entry.Parameter.numel());

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
        if (batchPerReplica * replicas < 2)
        {
            throw new ArgumentException(
                $"ITM draws each pair's negatives from the other pairs of the step, so a step needs at least 2 pairs; batch_size is {batchPerReplica * replicas}: raise it");
        }
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(Blip2Stage1Batch batch, TrainingStep step) => call(batch);

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double> { ["temp"] = temp.item<float>() };

    public JsonObject Describe() => new()
    {
        ["model"] = JsonSerializer.SerializeToNode(Config, BlipCheckpointDescription.Json),
        ["tokens"] = JsonSerializer.SerializeToNode(_tokens, BlipCheckpointDescription.Json),
    };

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, 0, path, loading);

    public void SetTraining(bool training) => train(training);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
        }

        base.Dispose(disposing);
    }

    public override Blip2Stage1Output forward(Blip2Stage1Batch batch)
    {
        using var scope = NewDisposeScope();
        var imageEmbeds = ln_vision.call(batch.ImageFeatures);                                          // (B, S, V)
        var (queryOutput, queryCache) = EncodeQueries(imageEmbeds);                                     // (B, Q, D)
        var imageFeats = nn.functional.normalize(vision_proj.call(queryOutput), dim: -1);               // (B, Q, E)
        var textFeat = TextFeature(batch.TextIds, batch.TextMask);                                      // (B, E)

        // ---- ITC: every query against every caption of the step; the best query counts.
        var imageFeatsAll = Gather.AllGather(imageFeats);                                               // (W·B, Q, E), no gradient
        var textFeatAll = Gather.AllGather(textFeat);                                                   // (W·B, E), no gradient
        var (lossItc, simI2T, simT2I) = Config.ItcImagePositives
            ? ContrastiveByImage(imageFeats, textFeat, imageFeatsAll, textFeatAll, temp, SameImage(batch.ImageIds, imageFeats.device), Config.LabelSmoothing)
            : Contrastive(imageFeats, textFeat, imageFeatsAll, textFeatAll, temp, Gather.Rank, Config.LabelSmoothing);

        // ---- ITM: queries and caption in one bidirectional pass, on positives and hard negatives.
        var lossItm = MatchingLoss(batch, imageEmbeds, simI2T, simT2I);

        // ---- ITG: [DEC] caption after the queries, which it sees through their cached keys and values.
        var lossItg = GenerationLoss(batch, queryCache);

        var output = new Blip2Stage1Output(lossItc, lossItm, lossItg);
        foreach (var tensor in new[] { output.Loss, output.LossItc, output.LossItm, output.LossItg })
        {
            tensor.MoveToOuterDisposeScope();
        }

        return output;
    }

    /// <summary>
    /// ITC (reference §2.1): <c>sim_i2t[b, j] = max_q image_feats[b, q] · text_feat_all[j] / temp</c> and
    /// <c>sim_t2i[b, j] = max_q text_feat[b] · image_feats_all[j, q] / temp</c>, the targets this rank's pairs among
    /// everyone's, cross-entropy with label smoothing both ways, averaged. The temperature is not clamped.
    /// </summary>
    /// <param name="imageFeats">This rank's normalised query features (B, Q, E).</param>
    /// <param name="textFeat">This rank's normalised caption features (B, E).</param>
    /// <param name="imageFeatsAll">Every rank's query features (W·B, Q, E), without gradient.</param>
    /// <param name="textFeatAll">Every rank's caption features (W·B, E), without gradient.</param>
    /// <param name="temperature">The learnable temperature (a scalar).</param>
    /// <param name="rank">This rank: its pairs are rows rank·B … rank·B + B − 1 of the gathered ones.</param>
    /// <param name="labelSmoothing">0.1 in LAVIS.</param>
    public static (Tensor Loss, Tensor SimI2T, Tensor SimT2I) Contrastive(
        Tensor imageFeats, Tensor textFeat, Tensor imageFeatsAll, Tensor textFeatAll, Tensor temperature, int rank, double labelSmoothing)
    {
        using var scope = NewDisposeScope();
        var batchSize = textFeat.shape[0];
        var simI2T = einsum("bqe,je->bjq", imageFeats, textFeatAll).amax(-1).div(temperature);         // (B, W·B)
        var simT2I = einsum("be,jqe->bjq", textFeat, imageFeatsAll).amax(-1).div(temperature);         // (B, W·B)
        var targets = arange(rank * batchSize, (rank + 1) * batchSize, dtype: int64, device: simI2T.device);
        var loss = nn.functional.cross_entropy(simI2T, targets, label_smoothing: labelSmoothing)
            .Plus(nn.functional.cross_entropy(simT2I, targets, label_smoothing: labelSmoothing))
            .div(2.0);
        return (loss.MoveToOuterDisposeScope(), simI2T.MoveToOuterDisposeScope(), simT2I.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// ITC with every pair of the same image a positive (reference §2.1, LAVIS when the samples carry <c>image_id</c>): the
    /// similarities as <see cref="Contrastive"/> computes them; the targets each row's same-image columns
    /// (<paramref name="sameImage"/>, B × W·B) normalised to sum to 1, then <c>(1 − s)·targets + s/N</c>; the loss
    /// <c>−Σ log_softmax(sim)·targets</c> averaged over the rows, both ways, averaged.
    /// </summary>
    public static (Tensor Loss, Tensor SimI2T, Tensor SimT2I) ContrastiveByImage(
        Tensor imageFeats, Tensor textFeat, Tensor imageFeatsAll, Tensor textFeatAll, Tensor temperature, Tensor sameImage, double labelSmoothing)
    {
        using var scope = NewDisposeScope();
        var simI2T = einsum("bqe,je->bjq", imageFeats, textFeatAll).amax(-1).div(temperature);         // (B, W·B)
        var simT2I = einsum("be,jqe->bjq", textFeat, imageFeatsAll).amax(-1).div(temperature);         // (B, W·B)
        var positives = sameImage.to(simI2T.dtype);
        var targets = positives.div(positives.sum(1, keepdim: true))
            .mul(1.0 - labelSmoothing).add(labelSmoothing / simI2T.shape[1]);                          // (B, W·B), rows sum to 1
        var lossI2T = nn.functional.log_softmax(simI2T, 1).mul(targets).sum(1).mean().neg();
        var lossT2I = nn.functional.log_softmax(simT2I, 1).mul(targets).sum(1).mean().neg();
        return (lossI2T.Plus(lossT2I).div(2.0).MoveToOuterDisposeScope(), simI2T.MoveToOuterDisposeScope(), simT2I.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One negative per row (reference §2.2): drawn from the softmax of the row's similarities (B, W·B) with the
    /// positives — every column of the same image (<paramref name="sameImage"/>, B × W·B) — set to −10,000 first, so their
    /// weight is exactly 0 and a negative is never a positive. With <paramref name="hardShare"/> below 1 the draw is from
    /// the mixture of those weights (that share) and the uniform weights over the other images' pairs. No gradient.
    /// </summary>
    public static Tensor HardNegatives(Tensor similarities, Tensor sameImage, Generator generator, double hardShare = 1.0)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weights = similarities.detach().masked_fill(sameImage, -10000.0).softmax(1);
        if (hardShare < 1.0)
        {
            var others = sameImage.logical_not().to(weights.dtype);
            var uniform = others.div(others.sum(1, keepdim: true));
            weights = weights.mul(hardShare).Plus(uniform.mul(1.0 - hardShare));
        }

        return DeviceRandom.Multinomial(weights, 1, generator).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    /// <summary>The query outputs (B, Q, D) over image tokens after <c>ln_vision</c>, and each layer's keys and values of the queries.</summary>
    public (Tensor Output, IReadOnlyList<QFormerKeyValues> KeyValues) EncodeQueries(Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        imageEmbeds = TensorPlacement.On(imageEmbeds, Device);
        var queries = query_tokens.expand(imageEmbeds.shape[0], -1, -1);
        var (output, cache) = Qformer.Bert.Forward(null, queries, null, imageEmbeds);
        foreach (var entry in cache)
        {
            entry.Keys.MoveToOuterDisposeScope();
            entry.Values.MoveToOuterDisposeScope();
        }

        return (output.MoveToOuterDisposeScope(), cache);
    }

    /// <summary>Frozen-encoder tokens (B, S, V) through <c>ln_vision</c>: what the queries cross-attend to.</summary>
    public Tensor VisionNorm(Tensor frozenFeatures) => ln_vision.call(TensorPlacement.On(frozenFeatures, Device));

    /// <summary>The normalised ITC image features (B, Q, E) of frozen-encoder tokens before <c>ln_vision</c>.</summary>
    public Tensor ImageFeatures(Tensor frozenFeatures)
    {
        using var scope = NewDisposeScope();
        var (output, _) = EncodeQueries(ln_vision.call(TensorPlacement.On(frozenFeatures, Device)));
        return nn.functional.normalize(vision_proj.call(output), dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>The normalised ITC text feature (B, E): the text-only pass's [CLS].</summary>
    public Tensor TextFeature(Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        var (hidden, _) = Qformer.Bert.Forward(TensorPlacement.On(textIds, Device), null, QFormerMasks.Padding(TensorPlacement.On(textMask, Device)), null);
        return nn.functional.normalize(text_proj.call(hidden.select(1, 0)), dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ITM's match logit minus its mismatch logit is not what LAVIS ranks by: it ranks by the raw "match" logit averaged
    /// over the queries (<c>compute_itm</c>). This returns that score (B) of captions against frozen-encoder tokens.
    /// </summary>
    public Tensor MatchScore(Tensor frozenFeatures, Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        return MatchLogits(ln_vision.call(TensorPlacement.On(frozenFeatures, Device)), TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device)).select(1, 1).MoveToOuterDisposeScope();
    }

    private Tensor MatchLogits(Tensor imageEmbeds, Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        var rows = textIds.shape[0];
        var queryCount = query_tokens.shape[1];
        var queries = query_tokens.expand(rows, -1, -1);
        var keep = cat([ones(rows, queryCount, dtype: textMask.dtype, device: textMask.device), textMask], 1);
        var (hidden, _) = Qformer.Bert.Forward(textIds, queries, QFormerMasks.Padding(keep), imageEmbeds);
        return itm_head.call(hidden.narrow(1, 0, queryCount)).mean([1]).MoveToOuterDisposeScope(); // (rows, 2)
    }

    private Tensor MatchingLoss(Blip2Stage1Batch batch, Tensor imageEmbeds, Tensor simI2T, Tensor simT2I)
    {
        using var scope = NewDisposeScope();
        var batchSize = batch.TextIds.shape[0];
        var textIdsWorld = Gather.AllGather(batch.TextIds);
        var textMaskWorld = Gather.AllGather(batch.TextMask);
        var imageEmbedsWorld = Gather.AllGatherWithGrad(imageEmbeds);
        var sameImage = SameImage(batch.ImageIds, simI2T.device);                                      // (B, W·B)

        var negativeImages = HardNegatives(simT2I, sameImage, _randomness, Config.ItmHardNegativeShare); // (B)
        var negativeTexts = HardNegatives(simI2T, sameImage, _randomness, Config.ItmHardNegativeShare);  // (B)

        var textAll = cat([batch.TextIds, batch.TextIds, textIdsWorld.index_select(0, negativeTexts)], 0);       // (3B, T)
        var maskAll = cat([batch.TextMask, batch.TextMask, textMaskWorld.index_select(0, negativeTexts)], 0);    // (3B, T)
        var imageAll = cat([imageEmbeds, imageEmbedsWorld.index_select(0, negativeImages), imageEmbeds], 0);     // (3B, S, V)
        var logits = MatchLogits(imageAll, textAll, maskAll);                                                    // (3B, 2)
        var labels = cat([ones(batchSize, dtype: int64, device: logits.device), zeros(2 * batchSize, dtype: int64, device: logits.device)], 0);
        return nn.functional.cross_entropy(logits, labels).MoveToOuterDisposeScope();
    }

    /// <summary>Which of every rank's pairs (W·B) show the same image as each of this rank's (B): (B, W·B), boolean.</summary>
    private Tensor SameImage(long[] imageIds, Device device)
    {
        using var localIds = tensor(imageIds, device: device);
        return localIds.unsqueeze(1).eq(Gather.AllGather(localIds).unsqueeze(0));
    }

    private Tensor GenerationLoss(Blip2Stage1Batch batch, IReadOnlyList<QFormerKeyValues> queryCache)
    {
        using var scope = NewDisposeScope();
        var decoderIds = batch.TextIds.clone();
        decoderIds.select(1, 0).fill_(_tokens.DecId);                                                   // [DEC] replaces [CLS]
        var labels = decoderIds.masked_fill(decoderIds.eq(_tokens.PadId), -100);
        var mask = QFormerMasks.MultimodalCausal(query_tokens.shape[1], batch.TextMask, queryRows: false); // (B, 1, T, Q + T)
        var (hidden, _) = Qformer.Bert.Forward(decoderIds, null, mask, null, queryCache);              // (B, T, D)
        var logits = Qformer.Logits(hidden);                                                            // (B, T, vocab)
        var length = logits.shape[1];
        var predicted = logits.narrow(1, 0, length - 1).reshape(-1, logits.shape[2]);
        var shifted = labels.narrow(1, 1, length - 1).reshape(-1);
        return nn.functional.cross_entropy(predicted, shifted, ignore_index: -100, label_smoothing: Config.LabelSmoothing).MoveToOuterDisposeScope();
    }
}
