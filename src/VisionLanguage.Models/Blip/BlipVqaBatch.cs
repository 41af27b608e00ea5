using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// One (micro-)batch of VQA questions as BLIP's VQA model trains on it (LAVIS <c>vqa_collater</c>): B images and their
/// questions, and every question's distinct answers flattened into N rows, each with the question it answers and its
/// weight (the share of the annotators who gave it). Whoever holds a batch owns its tensors; <see cref="Dispose"/> frees them.
/// </summary>
/// <param name="Images">Normalised images, float32 (B, 3, H, W).</param>
/// <param name="QuestionIds">Question token ids, int64 (B, Lq): [CLS] … [SEP], then [PAD]; the model puts [ENC] first.</param>
/// <param name="QuestionMask">Attention mask of the questions, int64 (B, Lq).</param>
/// <param name="AnswerIds">Answer token ids, int64 (N, La): [CLS] … [SEP], then [PAD]; the model puts [DEC] first.</param>
/// <param name="AnswerMask">Attention mask of the answers, int64 (N, La).</param>
/// <param name="AnswerQuestion">The question (row of the B) each answer answers, int64 (N).</param>
/// <param name="AnswerWeights">Each answer's weight, float32 (N): its count among the question's answers over their number.</param>
public sealed record BlipVqaBatch(
    Tensor Images, Tensor QuestionIds, Tensor QuestionMask, Tensor AnswerIds, Tensor AnswerMask, Tensor AnswerQuestion, Tensor AnswerWeights)
    : IDisposable, IDeviceBatch<BlipVqaBatch>
{
    /// <summary>B, the number of questions.</summary>
    public int Size => (int)Images.shape[0];

    /// <summary>Throws when the tensors' shapes disagree, naming each.</summary>
    public void Validate()
    {
        var size = Images.shape[0];
        if (Images.dim() != 4 || Images.shape[1] != 3)
        {
            throw new ArgumentException($"Images must be (batch, 3, H, W); got ({string.Join(", ", Images.shape)})");
        }

        if (QuestionIds.dim() != 2 || QuestionIds.shape[0] != size || QuestionIds.dtype != ScalarType.Int64 || !QuestionMask.shape.SequenceEqual(QuestionIds.shape))
        {
            throw new ArgumentException(
                $"QuestionIds and QuestionMask must be int64 ({size}, Lq); got {QuestionIds.dtype} ({string.Join(", ", QuestionIds.shape)}) and ({string.Join(", ", QuestionMask.shape)})");
        }

        var answers = AnswerIds.shape[0];
        if (AnswerIds.dim() != 2 || AnswerIds.dtype != ScalarType.Int64 || !AnswerMask.shape.SequenceEqual(AnswerIds.shape))
        {
            throw new ArgumentException(
                $"AnswerIds and AnswerMask must be int64 (N, La) of one shape; got {AnswerIds.dtype} ({string.Join(", ", AnswerIds.shape)}) and ({string.Join(", ", AnswerMask.shape)})");
        }

        if (!AnswerQuestion.shape.SequenceEqual([answers]) || !AnswerWeights.shape.SequenceEqual([answers]))
        {
            throw new ArgumentException(
                $"AnswerQuestion ({string.Join(", ", AnswerQuestion.shape)}) and AnswerWeights ({string.Join(", ", AnswerWeights.shape)}) must have one entry per answer ({answers})");
        }
    }

    /// <summary>The same batch on <paramref name="device"/>; this one when it is already there.</summary>
    public BlipVqaBatch To(Device device) =>
        Tensors.All(tensor => TensorPlacement.IsOn(tensor, device))
            ? this
            : new BlipVqaBatch(
                Images.to(device), QuestionIds.to(device), QuestionMask.to(device), AnswerIds.to(device), AnswerMask.to(device),
                AnswerQuestion.to(device), AnswerWeights.to(device));

    public void Dispose()
    {
        foreach (var tensor in Tensors)
        {
            tensor.Dispose();
        }
    }

    private Tensor[] Tensors => [Images, QuestionIds, QuestionMask, AnswerIds, AnswerMask, AnswerQuestion, AnswerWeights];
}

/// <summary>What one VQA forward pass gives: the weighted answer loss, which is the whole loss.</summary>
public sealed record BlipVqaOutput(Tensor LossVqa) : ITrainingOutput
{
    public Tensor Loss => LossVqa;

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("vqa", LossVqa)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}
