using TorchSharp;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Vqa;

/// <summary>How BLIP's VQA model answers: by ranking a candidate list (BLIP's default for VQAv2) or by generating.</summary>
public enum VqaInferenceMethod
{
    /// <summary>The candidates' first tokens pick the top k, whose full likelihood picks the answer (BLIP <c>rank_answer</c>).</summary>
    Rank,

    /// <summary>Beam search from [DEC] over the question states (BLIP <c>generate</c>).</summary>
    Generate,
}

/// <summary>How questions are answered at evaluation.</summary>
public sealed record VqaAnsweringSettings
{
    public VqaInferenceMethod Method { get; init; } = VqaInferenceMethod.Rank;

    /// <summary>Candidates kept by first-token probability before full scoring (LAVIS <c>num_ans_candidates</c>, BLIP <c>k_test</c>: 128).</summary>
    public int Candidates { get; init; } = 128;

    /// <summary>Beams of generation (BLIP: 3); 1 decodes greedily.</summary>
    public int BeamSize { get; init; } = 3;

    /// <summary>Shortest generated sequence, [DEC] included, as HuggingFace counts (BLIP: 1).</summary>
    public int MinLength { get; init; } = 1;

    /// <summary>Longest generated sequence and longest candidate, [DEC] and [SEP] included (BLIP: 10).</summary>
    public int MaxLength { get; init; } = 10;
}

/// <summary>
/// Answers questions about images with a <see cref="BlipVqaModel"/> (BLIP <c>BLIP_VQA.forward(inference=…)</c>): the
/// images and questions are encoded into question states once, then either every question ranks the candidate list
/// (tokenized once, <see cref="BlipVqaModel.RankAnswers"/>) or the answer decoder generates from [DEC]. Runs without
/// gradients in eval mode and restores the model's mode.
/// </summary>
public sealed class VqaAnswerer : IDisposable
{
    private readonly BlipVqaModel _model;
    private readonly BlipTokenizer _tokenizer;
    private readonly int _maxQuestionLength;
    private readonly Tensor? _candidateIds;
    private readonly Tensor? _candidateMask;

    /// <param name="model">The VQA model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="settings">Ranking or generation.</param>
    /// <param name="maxQuestionLength">Tokens per question at most.</param>
    /// <param name="candidates">The answer list ranking chooses from; required for ranking.</param>
    public VqaAnswerer(BlipVqaModel model, BlipTokenizer tokenizer, VqaAnsweringSettings settings, int maxQuestionLength, IReadOnlyList<string>? candidates)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Candidates, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BeamSize, 1);
        _model = model;
        _tokenizer = tokenizer;
        Settings = settings;
        _maxQuestionLength = maxQuestionLength;
        if (settings.MaxLength > model.Config.Text.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"max_answer_length {settings.MaxLength} exceeds the decoder's {model.Config.Text.MaxPositionEmbeddings} positions; lower it");
        }

        if (settings.Method == VqaInferenceMethod.Rank)
        {
            if (candidates is null || candidates.Count == 0)
            {
                throw new ArgumentException("answer ranking needs a candidate list; the evaluation data has no answer_list.json and the training data no answers");
            }

            // Tokenized once, kept on the CPU; the model places them where it computes.
            Candidates = candidates;
            var (ids, mask) = VqaDataLoader.EncodeLongest(tokenizer, candidates, settings.MaxLength);
            _candidateIds = ids.DetachFromDisposeScope();
            _candidateMask = mask.DetachFromDisposeScope();
        }
        else
        {
            Candidates = [];
            new DecodingRules(settings.MinLength, settings.MaxLength, tokenizer.SepId, tokenizer.PadId).CheckPrompt(1);
        }
    }

    public VqaAnsweringSettings Settings { get; }

    /// <summary>The answer list ranking chooses from; empty for generation.</summary>
    public IReadOnlyList<string> Candidates { get; }

    /// <summary>An answer to each of <paramref name="questions"/> about the image of the same row of <paramref name="images"/> (N, 3, H, W).</summary>
    public IReadOnlyList<string> Answer(Tensor images, IReadOnlyList<string> questions)
    {
        if (images.shape[0] != questions.Count)
        {
            throw new ArgumentException($"{questions.Count} questions for {images.shape[0]} images; give one question per image row");
        }

        var wasTraining = _model.IsTraining;
        _model.SetTraining(false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (questionIds, questionMask) = VqaDataLoader.EncodeLongest(_tokenizer, [.. questions.Select(VqaDataLoader.PrepareQuestion)], _maxQuestionLength);
            var mask = TensorPlacement.On(questionMask, _model.Device);
            var states = _model.QuestionStates(questionIds, mask, _model.ImageEmbeddings(images));    // (N, Lq, D)
            if (Settings.Method == VqaInferenceMethod.Rank)
            {
                return [.. _model.RankAnswers(states, mask, _candidateIds!, _candidateMask!, Settings.Candidates).Select(index => Candidates[(int)index])];
            }

            var rules = new DecodingRules(Settings.MinLength, Settings.MaxLength, _tokenizer.SepId, _tokenizer.PadId);
            var beams = Settings.BeamSize;
            using var session = new CachedDecoderSession(_model.TextDecoder, states, beams, mask);
            using var dec = _tokenizer.DecId.ToScalar();
            var prompt = full(questions.Count, 1, dec, dtype: int64, device: states.device);          // (N, 1): [DEC]
            var sequences = beams == 1 ? GreedySearch.Run(session, prompt, rules) : BeamSearch.Run(session, prompt, beams, rules);
            return [.. sequences.Select(sequence => _tokenizer.Decode(sequence.Skip(1)).Trim())];
        }
        finally
        {
            _model.SetTraining(wasTraining);
        }
    }

    /// <summary>
    /// Answers every question of <paramref name="dataset"/> in order, <paramref name="batchSize"/> at a time, its images
    /// at <paramref name="imageSize"/> pixels, and scores the answers with the official VQA accuracy; the ground truth
    /// comes back too, in the same order.
    /// </summary>
    public (VqaEvaluationResult Result, IReadOnlyList<VqaGroundTruth> Truths) Evaluate(VqaDataset dataset, int imageSize, int batchSize, TaskPulse pulse)
    {
        var transform = ImageTransform.Eval(imageSize);
        var predictions = new List<string>(dataset.Count);
        foreach (var chunk in dataset.Samples.Chunk(batchSize))
        {
            pulse.Beat();
            using var scope = NewDisposeScope();
            var images = dataset.LoadImages([.. chunk.Select(sample => sample.ImageId)], transform);
            predictions.AddRange(Answer(images, [.. chunk.Select(sample => sample.Question)]));
        }

        var truths = dataset.Samples.Select(sample => new VqaGroundTruth(sample.QuestionId, sample.Answers, sample.QuestionType, sample.AnswerType)).ToList();
        return (VqaAccuracy.Evaluate(truths, predictions), truths);
    }

    public void Dispose()
    {
        _candidateIds?.Dispose();
        _candidateMask?.Dispose();
    }
}
