namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// The type of an artifact, a dotted name where each dot narrows the type:
/// <c>checkpoint.blip.captioner</c> is a <c>checkpoint.blip</c>, so it fits an input that asks for the latter.
/// </summary>
public readonly record struct ArtifactType(string Name)
{
    public static readonly ArtifactType Dataset = new("dataset");
    public static readonly ArtifactType BlipCheckpoint = new("checkpoint.blip");
    public static readonly ArtifactType CaptionerCheckpoint = new("checkpoint.blip.captioner");
    public static readonly ArtifactType RetrievalCheckpoint = new("checkpoint.blip.retrieval");
    public static readonly ArtifactType VqaCheckpoint = new("checkpoint.blip.vqa");
    public static readonly ArtifactType Nlvr2Checkpoint = new("checkpoint.blip.nlvr2");
    public static readonly ArtifactType QFormerCheckpoint = new("checkpoint.qformer");
    public static readonly ArtifactType Blip2Checkpoint = new("checkpoint.blip2");
    public static readonly ArtifactType Blip2CaptionerCheckpoint = new("checkpoint.blip2.captioner");
    public static readonly ArtifactType Blip2VqaCheckpoint = new("checkpoint.blip2.vqa");

    /// <summary>A retrieval-finetuned Q-Former with its trained encoder: not a <c>checkpoint.qformer</c>, which stage 2 reads with the encoder frozen.</summary>
    public static readonly ArtifactType Blip2RetrievalCheckpoint = new("checkpoint.blip2_retrieval");
    public static readonly ArtifactType ImageEncoderWeights = new("weights.image_encoder");
    public static readonly ArtifactType TextEncoderWeights = new("weights.text_encoder");
    public static readonly ArtifactType LlmWeights = new("weights.llm");
    public static readonly ArtifactType CapfiltScores = new("report.capfilt_scores");
    public static readonly ArtifactType EvaluationReport = new("report.evaluation");

    /// <summary>True when an artifact of this type can be given to an input that asks for <paramref name="wanted"/>.</summary>
    public bool Fits(ArtifactType wanted) =>
        Name == wanted.Name || Name.StartsWith(wanted.Name + ".", StringComparison.Ordinal);

    public override string ToString() => Name;
}
