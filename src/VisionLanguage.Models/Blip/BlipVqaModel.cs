using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP VQA (BLIP <c>models/blip_vqa.py</c>, LAVIS <c>BlipVQA</c>): the ViT; the image-grounded text encoder reads the
/// question ([ENC] first, cross-attending to the image tokens) into question states; an answer decoder of its own
/// (<c>text_decoder</c>: embeddings, self- and cross-attention, feed-forwards and head, nothing shared with the encoder)
/// cross-attends to those states, padding masked, and is trained on each question's distinct answers, each answer's
/// summed, label-smoothed token loss weighted by its share of the annotators, the batch's sum divided by its questions.
/// Every parameter trains. Started from a pretrained BLIP, the encoder takes the pretrained text encoder and the decoder
/// the pretrained LM decoder (its own self-attention and head; the embeddings, cross-attention and feed-forwards it
/// shared with the encoder in pretraining, as LAVIS's checkpoint holds them tied), its cross-attention's keys and values
/// only when the question's width is the ViT's (BLIP reads 768 wide question states; a wider ViT's keys do not fit and
/// start fresh, as LAVIS drops them). Field names follow LAVIS.
/// </summary>
public sealed class BlipVqaModel : nn.Module<BlipVqaBatch, BlipVqaOutput>, ITrainableModel<BlipVqaBatch>
{
    public const string Format = "blip.vqa.checkpoint/1";

    private readonly VisionTransformer visual_encoder;
    private readonly BertModel text_encoder;
    private readonly BertLMHeadModel text_decoder;

    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;

    /// <param name="config">Shapes (the decoder's cross-attention reads the text width); the answer loss's label smoothing.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights (replaced when a checkpoint is loaded) and, until reseeded, of dropout.</param>
    /// <param name="device">Where the model runs; the CPU when null. Move it only this way.</param>
    public BlipVqaModel(BlipModelConfig config, BlipSpecialTokens tokens, long seed, Device? device = null)
        : base(nameof(BlipVqaModel))
    {
        config.CheckWidths();
        Config = config;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        visual_encoder = new VisionTransformer(config.Vision, init);
        text_encoder = new BertModel(config.Text, init, _randomness);
        text_decoder = new BertLMHeadModel(DecoderConfig(config.Text), init, _randomness);
        RegisterComponents();
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;
    }

    public BlipModelConfig Config { get; }

    public BlipSpecialTokens Tokens => _tokens;

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _randomness;

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    /// <summary>The answer decoder, for step-by-step decoding (its source is the question states, not the image).</summary>
    public BertLMHeadModel TextDecoder => text_decoder;

    public bool IsTraining => training;

    /// <summary>The answer decoder's shape: the text transformer's, its cross-attention reading question states of the text width.</summary>
    public static MedConfig DecoderConfig(MedConfig text) => text with { EncoderWidth = text.HiddenSize };

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    public override BlipVqaOutput forward(BlipVqaBatch batch)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        var imageEmbeds = visual_encoder.call(batch.Images);                                     // (B, 1 + P, Dv)
        var questionStates = QuestionStates(batch.QuestionIds, batch.QuestionMask, imageEmbeds);  // (B, Lq, D)
        var perAnswer = AnswerLoss(
            questionStates.index_select(0, batch.AnswerQuestion), batch.QuestionMask.index_select(0, batch.AnswerQuestion),
            batch.AnswerIds, batch.AnswerMask);                                                   // (N)
        var loss = perAnswer.mul(batch.AnswerWeights).sum().div(batch.Images.shape[0]);
        return new BlipVqaOutput(loss.MoveToOuterDisposeScope());
    }

    /// <summary>Image tokens (B, 1 + P, Dv) of the ViT.</summary>
    public Tensor ImageEmbeddings(Tensor images) => visual_encoder.call(TensorPlacement.On(images, Device));

    /// <summary>
    /// The question states (B, Lq, D): the image-grounded encoder over question ids (B, Lq) whose [CLS] becomes [ENC],
    /// cross-attending to <paramref name="imageEmbeds"/> (B, S, Dv).
    /// </summary>
    public Tensor QuestionStates(Tensor questionIds, Tensor questionMask, Tensor imageEmbeds) =>
        text_encoder.call(
            ImageTextMatching.WithFirstToken(TensorPlacement.On(questionIds, Device), _tokens.EncId), TensorPlacement.On(questionMask, Device), imageEmbeds);

    /// <summary>
    /// Each answer's loss (N): the decoder reads answer ids (N, La) with [DEC] first, cross-attending to its question's
    /// states (N, Lq, D) where <paramref name="questionMask"/> (N, Lq) is 1; the label-smoothed cross-entropy of its tokens
    /// after [DEC] ([SEP] included, padding not), summed. Its negation is what answer ranking maximises.
    /// </summary>
    public Tensor AnswerLoss(Tensor questionStates, Tensor questionMask, Tensor answerIds, Tensor answerMask)
    {
        using var scope = NewDisposeScope();
        var decoderIds = ImageTextMatching.WithFirstToken(TensorPlacement.On(answerIds, Device), _tokens.DecId); // (N, La)
        var mask = TensorPlacement.On(answerMask, Device);
        var logits = text_decoder.Forward(decoderIds, mask, questionStates, TensorPlacement.On(questionMask, Device)); // (N, La, V)
        return BlipObjectives.LanguageModellingPerSequence(logits, decoderIds, mask, Config.LabelSmoothing).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's logits (B, V) for the first answer token, after [DEC] alone, per question.</summary>
    public Tensor FirstTokenLogits(Tensor questionStates, Tensor questionMask)
    {
        using var scope = NewDisposeScope();
        using var dec = _tokens.DecId.ToScalar();
        var start = full(questionStates.shape[0], 1, dec, dtype: int64, device: questionStates.device); // (B, 1)
        var logits = text_decoder.Forward(start, ones_like(start), questionStates, TensorPlacement.On(questionMask, Device)); // (B, 1, V)
        return logits.select(1, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Answers by ranking a candidate list (BLIP <c>rank_answer</c>, LAVIS <c>_rank_answers</c>): the decoder reads [DEC]
    /// alone, and the softmax of its logits gives each candidate's first token a probability; the <paramref name="k"/>
    /// likeliest candidates per question (all of them when there are fewer) are then teacher-forced, and the one whose
    /// summed, label-smoothed token loss is lowest is the answer. Runs without gradients in the current mode.
    /// </summary>
    /// <param name="questionStates">Question states (B, Lq, D), from <see cref="QuestionStates"/>.</param>
    /// <param name="questionMask">Their mask (B, Lq).</param>
    /// <param name="answerIds">The candidates' ids (N, La), [CLS] … [SEP] then [PAD], tokenized once for every question.</param>
    /// <param name="answerMask">Their mask (N, La).</param>
    /// <param name="k">Candidates kept by first-token probability (LAVIS <c>num_ans_candidates</c>, 128).</param>
    /// <returns>The index of each question's answer among the candidates (B).</returns>
    public long[] RankAnswers(Tensor questionStates, Tensor questionMask, Tensor answerIds, Tensor answerMask, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var questions = questionStates.shape[0];
        var ids = TensorPlacement.On(answerIds, Device);
        var mask = TensorPlacement.On(answerMask, Device);
        var questionAtts = TensorPlacement.On(questionMask, Device);
        var keep = (int)Math.Min(k, ids.shape[0]);
        var firstProbabilities = FirstTokenLogits(questionStates, questionAtts).softmax(1)         // (B, V)
            .index_select(1, ids.select(1, 1));                                                    // (B, N): each candidate's first token
        var (_, topIds) = firstProbabilities.topk(keep, dim: 1);                                   // (B, k)
        var flat = topIds.reshape(-1);                                                             // (B·k)
        var scores = AnswerLoss(
            questionStates.repeat_interleave(keep, dim: 0), questionAtts.repeat_interleave(keep, dim: 0),
            ids.index_select(0, flat), mask.index_select(0, flat)).neg().view(questions, keep);    // (B, k): log-likelihood, smoothed
        var best = topIds.gather(1, scores.argmax(1, keepdim: true)).squeeze(1);                   // (B)
        return best.cpu().data<long>().ToArray();
    }

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(BlipVqaBatch batch, TrainingStep step) => call(batch);

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double>();

    public JsonObject Describe() => BlipCheckpointDescription.Of(Config, _tokens);

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    /// <summary>
    /// Strictly, this model's own checkpoint; leniently, a pretrained BLIP's (or a captioner's), the answer decoder taking
    /// what it shared with the encoder from the encoder's names (<see cref="PretrainedAliases"/>).
    /// </summary>
    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) =>
        BlipWeights.Load(this, Config.Vision.GridSize, path, loading, PretrainedAliases);

    public void SetTraining(bool training) => train(training);

    /// <summary>
    /// Where a pretrained checkpoint holds the answer decoder's tensors that it does not hold under the decoder's names:
    /// the embeddings, cross-attention and feed-forwards the pretrained decoder shared with the encoder, stored once under
    /// <c>text_encoder.</c> (LAVIS's checkpoints hold the tied copy under both names).
    /// </summary>
    public static IEnumerable<string> PretrainedAliases(string name)
    {
        const string Decoder = "text_decoder.bert.";
        if (name.StartsWith(Decoder, StringComparison.Ordinal) && !name.Contains(".attention.", StringComparison.Ordinal))
        {
            yield return "text_encoder." + name[Decoder.Length..];
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
}
