using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP pretraining (LAVIS <c>BlipPretrain</c>): a ViT image encoder and the MED text transformer trained with ITC
/// (momentum encoders, feature queues, soft targets), ITM (hard negatives) and LM (a causal decoder that shares all but
/// its self-attention with the encoder). Field names, and so checkpoint names and shapes, follow LAVIS.
/// </summary>
public sealed class BlipPretrainModel : nn.Module<BlipPretrainBatch, double, BlipPretrainOutput>
{
    /// <summary>The range the learnt temperature is clamped to before each forward pass, as in LAVIS (0.001 to 0.5).</summary>
    private static readonly (Scalar Min, Scalar Max) TemperatureRange = (0.001.ToScalar(), 0.5.ToScalar());

    private readonly VisionTransformer visual_encoder;
    private readonly BertModel text_encoder;
    private readonly BertLMHeadModel text_decoder;
    private readonly Linear vision_proj;
    private readonly Linear text_proj;
    private readonly Linear itm_head;

    private readonly VisionTransformer visual_encoder_m;
    private readonly BertModel text_encoder_m;
    private readonly Linear vision_proj_m;
    private readonly Linear text_proj_m;

    private readonly Tensor image_queue; // (embed_dim, queue_size)
    private readonly Tensor text_queue;  // (embed_dim, queue_size)
    private readonly Tensor queue_ptr;   // (1), int64
    private readonly Parameter temp;     // scalar

    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;
    private readonly CaptionSwaps? _captionSwaps;
    private readonly (nn.Module Online, nn.Module Momentum)[] _momentumPairs;

    /// <summary>
    /// Builds the model with weights drawn from <paramref name="seed"/>: the same seed gives the same weights. Dropout and
    /// ITM negatives draw from <see cref="Randomness"/>, seeded from <paramref name="seed"/> too until reseeded.
    /// </summary>
    /// <param name="config">Shapes and objective hyperparameters.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights and, until reseeded, of <see cref="Randomness"/>.</param>
    /// <param name="objectives">The objectives <see cref="forward"/> computes; parameters only the others reach are frozen.</param>
    /// <param name="lmPromptLength">
    /// Leading decoder positions ([DEC] and the prompt's tokens) excluded from the LM targets, so the loss covers the
    /// caption only (LAVIS <c>blip_caption</c>'s <c>prompt_length</c>); 0 in pretraining.
    /// </param>
    /// <param name="captionSwaps">
    /// The one-word edits of the training captions; training ITM needs them when the config's <c>ItmSwapNegativeShare</c>
    /// is above 0, scoring a trained model does not.
    /// </param>
    public BlipPretrainModel(
        BlipModelConfig config, BlipSpecialTokens tokens, long seed, BlipObjectiveSet objectives = BlipObjectiveSet.All, int lmPromptLength = 0,
        CaptionSwaps? captionSwaps = null)
        : base(nameof(BlipPretrainModel))
    {
        if (objectives == 0 || (objectives & ~BlipObjectiveSet.All) != 0)
        {
            throw new ArgumentException($"objectives must be a non-empty combination of ITC, ITM and LM; got {objectives}", nameof(objectives));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(lmPromptLength);
        if (config.Text.EncoderWidth != config.Vision.Width)
        {
            throw new ArgumentException(
                $"the text transformer's cross-attention reads width {config.Text.EncoderWidth}, but the ViT's width is {config.Vision.Width}; make them equal",
                nameof(config));
        }

        Config = config;
        Objectives = objectives;
        _captionSwaps = captionSwaps;
        LmPromptLength = lmPromptLength;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = new Generator(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL);

        visual_encoder = new VisionTransformer(config.Vision, init);
        text_encoder = new BertModel(config.Text, init, _randomness);
        text_decoder = new BertLMHeadModel(text_encoder, config.Text, init, _randomness);
        vision_proj = nn.Linear(config.Vision.Width, config.EmbedDim);
        text_proj = nn.Linear(config.Text.HiddenSize, config.EmbedDim);
        itm_head = nn.Linear(config.Text.HiddenSize, 2);
        BlipInit.Default(vision_proj.weight, vision_proj.bias, init);
        BlipInit.Default(text_proj.weight, text_proj.bias, init);
        BlipInit.Default(itm_head.weight, itm_head.bias, init);

        // Momentum encoders start as copies (LAVIS copy_params) and never receive gradients.
        visual_encoder_m = new VisionTransformer(config.Vision, init);
        text_encoder_m = new BertModel(config.Text, init, _randomness);
        vision_proj_m = nn.Linear(config.Vision.Width, config.EmbedDim);
        text_proj_m = nn.Linear(config.Text.HiddenSize, config.EmbedDim);
        _momentumPairs = [(visual_encoder, visual_encoder_m), (text_encoder, text_encoder_m), (vision_proj, vision_proj_m), (text_proj, text_proj_m)];

        using (no_grad())
        {
            image_queue = nn.functional.normalize(randn([config.EmbedDim, config.QueueSize], generator: init), dim: 0);
            text_queue = nn.functional.normalize(randn([config.EmbedDim, config.QueueSize], generator: init), dim: 0);
        }

        queue_ptr = zeros(1, dtype: int64);
        temp = new Parameter(full(Array.Empty<long>(), config.Temperature, dtype: float32));
        CopyMomentumParameters();
        RegisterComponents();
        FreezeUnreached();
    }

    public BlipModelConfig Config { get; }

    /// <summary>The objectives <see cref="forward"/> computes.</summary>
    public BlipObjectiveSet Objectives { get; }

    /// <summary>Leading decoder positions excluded from the LM targets ([DEC] and the prompt).</summary>
    public int LmPromptLength { get; }

    /// <summary>The source of dropout masks and ITM negatives; its state is part of a checkpoint.</summary>
    public Generator Randomness => _randomness;

    /// <summary>Where the ITC queues write next.</summary>
    public long QueuePointer => queue_ptr.item<long>();

    /// <summary>The queues (embed_dim, queue_size), for inspection; do not write through them.</summary>
    public (Tensor Image, Tensor Text) Queues => (image_queue, text_queue);

    /// <summary>The current ITC temperature.</summary>
    public Parameter Temperature => temp;

    /// <summary>The parameters the optimiser updates, under their checkpoint names, each once (shared ones included once).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    /// <summary>Pairs each online parameter with its momentum copy, in the order LAVIS's model_pairs walk them.</summary>
    public IEnumerable<(Parameter Online, Parameter Momentum)> MomentumParameterPairs() =>
        _momentumPairs.SelectMany(pair => pair.Online.parameters().Zip(pair.Momentum.parameters()));

    /// <summary>
    /// Runs the enabled objectives on <paramref name="batch"/>; <paramref name="alpha"/> is the ramped distillation
    /// weight. A disabled objective costs nothing: none of its forward passes run.
    /// </summary>
    public override BlipPretrainOutput forward(BlipPretrainBatch batch, double alpha)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        var itcOn = Objectives.HasFlag(BlipObjectiveSet.Itc);
        var itmOn = Objectives.HasFlag(BlipObjectiveSet.Itm);
        if (itcOn || itmOn)
        {
            using (no_grad())
            {
                temp.clamp_(TemperatureRange.Min, TemperatureRange.Max);
            }
        }

        var size = batch.Size;
        var imageEmbeds = visual_encoder.call(batch.Images);                                                 // (B, 1 + P, Dv)
        Tensor? lossItc = null, lossItm = null, lossLm = null, imageFeatM = null, textFeatM = null;

        if (itcOn || itmOn)
        {
            // ---- ITC: unimodal image and text features against the momentum features and the queues.
            var imageFeat = nn.functional.normalize(vision_proj.call(imageEmbeds.select(1, 0)), dim: -1);    // (B, E)
            var textEmbeds = text_encoder.call(batch.TextIds, batch.TextMask, null);                        // (B, L, Dt)
            var textFeat = nn.functional.normalize(text_proj.call(textEmbeds.select(1, 0)), dim: -1);       // (B, E)
            Tensor simI2T, simT2I;
            if (itcOn)
            {
                using (no_grad())
                {
                    var imageEmbedsM = visual_encoder_m.call(batch.Images);                                  // (B, 1 + P, Dv)
                    imageFeatM = nn.functional.normalize(vision_proj_m.call(imageEmbedsM.select(1, 0)), dim: -1); // (B, E)
                    var textEmbedsM = text_encoder_m.call(batch.TextIds, batch.TextMask, null);             // (B, L, Dt)
                    textFeatM = nn.functional.normalize(text_proj_m.call(textEmbedsM.select(1, 0)), dim: -1); // (B, E)
                }

                var itc = BlipObjectives.Contrastive(imageFeat, textFeat, imageFeatM, textFeatM, image_queue, text_queue, temp, alpha);
                lossItc = itc.Loss;
                (simI2T, simT2I) = (itc.SimI2T.narrow(1, 0, size), itc.SimT2I.narrow(1, 0, size));
            }
            else
            {
                using (no_grad())
                {
                    simI2T = imageFeat.matmul(textFeat.t()) / temp;                                          // (B, B)
                    simT2I = simI2T.t();                                                                     // (B, B)
                }
            }

            if (itmOn)
            {
                lossItm = MatchingLoss(batch, imageEmbeds, simI2T, simT2I);
            }
        }

        if (Objectives.HasFlag(BlipObjectiveSet.Lm))
        {
            // ---- LM: the image-grounded causal decoder predicts each caption token after [DEC] (and after the prompt).
            var decoderIds = WithFirstToken(batch.TextIds, _tokens.DecId);                                  // (B, L), [DEC] first
            var logits = text_decoder.call(decoderIds, batch.TextMask, imageEmbeds);                        // (B, L, V)
            lossLm = BlipObjectives.LanguageModelling(logits, decoderIds, batch.TextMask, Config.LabelSmoothing, LmPromptLength);
        }

        var output = new BlipPretrainOutput(lossItc, lossItm, lossLm, imageFeatM, textFeatM);
        // Loss is the single enabled loss itself when only one is: move each tensor out once.
        var results = new[] { output.Loss, output.LossItc, output.LossItm, output.LossLm, output.ImageFeatM, output.TextFeatM };
        foreach (var tensor in results.OfType<Tensor>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>())
        {
            tensor.MoveToOuterDisposeScope();
        }

        return output;
    }

    /// <summary>θ_m ← m·θ_m + (1 − m)·θ for every momentum pair (LAVIS <c>_momentum_update</c>); once per optimiser step.</summary>
    public void MomentumUpdate()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Native scalars held through the loop (see NamedAdamW.Step for why not implicit ones).
        using var momentum = Config.Momentum.ToScalar();
        using var onlineShare = (1.0 - Config.Momentum).ToScalar();
        foreach (var (online, copy) in MomentumParameterPairs())
        {
            copy.mul_(momentum).add_(online.mul(onlineShare), RootedScalars.One);
        }
    }

    /// <summary>
    /// Writes the step's momentum features, gathered from every replica in rank order, into the queues at the pointer
    /// and advances it, wrapping around (LAVIS <c>_dequeue_and_enqueue</c>).
    /// </summary>
    public void DequeueAndEnqueue(Tensor imageFeats, Tensor textFeats)
    {
        var count = imageFeats.shape[0];
        if (Config.QueueSize % count != 0)
        {
            throw new InvalidOperationException(
                $"{count} features per step do not divide queue_size {Config.QueueSize}; the global batch must divide the queue");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pointer = queue_ptr.item<long>();
        image_queue.narrow(1, pointer, count).copy_(imageFeats.t());
        text_queue.narrow(1, pointer, count).copy_(textFeats.t());
        using var next = ((pointer + count) % Config.QueueSize).ToScalar();
        queue_ptr.fill_(next);
    }

    /// <summary>Image tokens (B, 1 + P, Dv) and the normalised ITC image feature (B, E).</summary>
    public (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images)
    {
        using var scope = NewDisposeScope();
        var embeds = visual_encoder.call(images);
        var feature = nn.functional.normalize(vision_proj.call(embeds.select(1, 0)), dim: -1);
        return (embeds.MoveToOuterDisposeScope(), feature.MoveToOuterDisposeScope());
    }

    /// <summary>The unimodal text encoder's normalised ITC feature (B, E) of captions [CLS] … [SEP].</summary>
    public Tensor EncodeText(Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        var embeds = text_encoder.call(textIds, textMask, null);
        return nn.functional.normalize(text_proj.call(embeds.select(1, 0)), dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>ITM logit of "match" (B) for captions (with [CLS], replaced here by [ENC]) against image tokens.</summary>
    public Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        var hidden = text_encoder.call(WithFirstToken(textIds, _tokens.EncId), textMask, imageEmbeds);
        return itm_head.call(hidden.select(1, 0)).select(1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ITM match probability (B): the softmax of the ITM head over (no match, match), class 1, for captions (with [CLS],
    /// replaced here by [ENC]) against image tokens. CapFilt's filter keeps a pair when it reaches a threshold.
    /// </summary>
    public Tensor MatchProbability(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        var hidden = text_encoder.call(WithFirstToken(textIds, _tokens.EncId), textMask, imageEmbeds);
        return itm_head.call(hidden.select(1, 0)).softmax(-1).select(1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Image tokens (B, 1 + P, Dv) of the image encoder, which the decoder and the ITM encoder attend to.</summary>
    public Tensor ImageEmbeddings(Tensor images) => visual_encoder.call(images);

    /// <summary>The image-grounded decoder (<c>text_decoder</c>), for step-by-step decoding.</summary>
    public BertLMHeadModel TextDecoder => text_decoder;

    /// <summary>Image-grounded decoder logits (B, L, V) for ids whose first token is replaced by [DEC].</summary>
    public Tensor DecoderLogits(Tensor textIds, Tensor textMask, Tensor imageEmbeds) =>
        text_decoder.call(WithFirstToken(textIds, _tokens.DecId), textMask, imageEmbeds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>ITM: the image-grounded encoder on positives, then on a hard negative image per text and text per image.</summary>
    private Tensor MatchingLoss(BlipPretrainBatch batch, Tensor imageEmbeds, Tensor simI2T, Tensor simT2I)
    {
        var size = batch.Size;
        var encoderIds = WithFirstToken(batch.TextIds, _tokens.EncId);                                      // (B, L), [ENC] first
        var positive = text_encoder.call(encoderIds, batch.TextMask, imageEmbeds);                          // (B, L, Dt)
        var (negativeImage, negativeText) = BlipObjectives.SampleHardNegatives(simI2T, simT2I, batch.ImageIds, _randomness, Config.ItmHardNegativeShare);
        var (negativeIds, negativeMask) = Config.ItmSwapNegativeShare > 0
            ? SwappedNegatives(batch, negativeText, imageEmbeds)
            : (encoderIds.index_select(0, negativeText), batch.TextMask.index_select(0, negativeText));
        var textIdsAll = cat([encoderIds, negativeIds], dim: 0);                                              // (2B, L)
        var textMaskAll = cat([batch.TextMask, negativeMask], dim: 0);                                        // (2B, L)
        var imageEmbedsAll = cat([imageEmbeds.index_select(0, negativeImage), imageEmbeds], dim: 0);        // (2B, 1 + P, Dv)
        var negative = text_encoder.call(textIdsAll, textMaskAll, imageEmbedsAll);                          // (2B, L, Dt)
        var itmLogits = itm_head.call(cat([positive.select(1, 0), negative.select(1, 0)], dim: 0));          // (3B, 2)
        var itmLabels = cat([ones(size, dtype: int64, device: itmLogits.device), zeros(2L * size, dtype: int64, device: itmLogits.device)]);
        return nn.functional.cross_entropy(itmLogits, itmLabels);
    }

    /// <summary>Each image's negative caption, its own with one word swapped for <see cref="BlipModelConfig.ItmSwapNegativeShare"/> of them, [ENC] first.</summary>
    private (Tensor Ids, Tensor Mask) SwappedNegatives(BlipPretrainBatch batch, Tensor negativeText, Tensor imageEmbeds)
    {
        var swaps = _captionSwaps ?? throw new InvalidOperationException(
            $"ItmSwapNegativeShare is {Config.ItmSwapNegativeShare}, but the model was built without caption swaps; learn them from the training captions (CaptionSwaps.Learn)");
        var draws = rand([batch.Size, 3], dtype: float64, generator: _randomness);
        var (ids, mask, swapped) = BlipObjectives.NegativeTexts(batch.TextIds, batch.TextMask, negativeText, draws, swaps, Config.ItmSwapNegativeShare);
        if (Config.ItmSwapCandidates > 1 && swapped.Length > 0)
        {
            ids = HardestSwaps(batch, ids, swapped, imageEmbeds, swaps);
        }

        return (WithFirstToken(ids, _tokens.EncId), mask);
    }

    /// <summary>
    /// <paramref name="negativeIds"/> with each swapped row replaced by the likeliest match, to the ITM head, of
    /// <see cref="BlipModelConfig.ItmSwapCandidates"/> swaps of its caption (the one already drawn and more): hard
    /// negatives among the swaps, as BLIP draws its in-batch negatives by similarity. Swaps the model already rejects
    /// from the text alone or at a glance (a plural after "a", another colour) give way to those it cannot yet check.
    /// Scored without gradients and in evaluation mode, so the scores are the model's own and dropout's generator draws
    /// nothing for them; the extra swaps are drawn from the model's generator, which a checkpoint holds.
    /// </summary>
    private Tensor HardestSwaps(BlipPretrainBatch batch, Tensor negativeIds, int[] swapped, Tensor imageEmbeds, CaptionSwaps swaps)
    {
        var count = Config.ItmSwapCandidates;
        var device = negativeIds.device;
        var rows = tensor(swapped.Select(row => (long)row).ToArray(), device: device);
        var draws = rand([swapped.Length, 2 * (count - 1)], dtype: float64, generator: _randomness);
        var candidates = cat([negativeIds.index_select(0, rows), BlipObjectives.SwapAlternatives(batch.TextIds, batch.TextMask, swapped, draws, swaps)], dim: 0); // (K·S, L)
        Tensor scores;
        using (no_grad())
        {
            var training = text_encoder.training;
            text_encoder.eval();
            scores = MatchProbability(candidates, batch.TextMask.index_select(0, rows).repeat(count, 1), imageEmbeds.detach().index_select(0, rows).repeat(count, 1, 1));
            text_encoder.train(training);
        }

        return negativeIds.index_copy(0, rows, BlipObjectives.Hardest(candidates, scores, swapped.Length));
    }

    /// <summary>
    /// Freezes what no enabled objective reaches, so the optimiser holds only parameters that get gradients: LM alone
    /// trains the image encoder and the decoder (with the encoder's embeddings, cross-attention and FFN it shares), but
    /// not the encoder's own self-attention, the projections, the ITM head or the temperature.
    /// </summary>
    private void FreezeUnreached()
    {
        if (Objectives == BlipObjectiveSet.All)
        {
            return;
        }

        var reached = new HashSet<Parameter>(visual_encoder.parameters(), ReferenceEqualityComparer.Instance);
        if (Objectives.HasFlag(BlipObjectiveSet.Itc))
        {
            reached.UnionWith(vision_proj.parameters().Concat(text_proj.parameters()).Append(temp));
            reached.UnionWith(text_encoder.named_parameters()
                .Where(entry => !entry.name.Contains(".crossattention.", StringComparison.Ordinal))
                .Select(entry => entry.parameter));
        }

        if (Objectives.HasFlag(BlipObjectiveSet.Itm))
        {
            reached.UnionWith(text_encoder.parameters().Concat(itm_head.parameters()));
        }

        if (Objectives.HasFlag(BlipObjectiveSet.Lm))
        {
            reached.UnionWith(text_decoder.parameters());
        }

        foreach (var parameter in parameters().Where(parameter => !reached.Contains(parameter)))
        {
            parameter.requires_grad = false;
        }
    }

    private static Tensor WithFirstToken(Tensor ids, long token)
    {
        var replaced = ids.clone();
        using var value = token.ToScalar();
        replaced.select(1, 0).fill_(value);
        return replaced;
    }

    private void CopyMomentumParameters()
    {
        using var noGrad = no_grad();
        foreach (var (online, copy) in MomentumParameterPairs())
        {
            copy.copy_(online);
            copy.requires_grad = false;
        }
    }
}
