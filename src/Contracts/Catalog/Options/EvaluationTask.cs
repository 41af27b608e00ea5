namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>What an <c>evaluate</c> stage scores its checkpoint on, and so which checkpoints it takes.</summary>
public enum EvaluationTask
{
    /// <summary>Image-text retrieval both ways: recall@1/5/10, ITC top-k re-ranked by ITM.</summary>
    Retrieval,

    /// <summary>Captioning: BLEU-4 and CIDEr-D of the generated captions against the dataset's.</summary>
    Caption,
}
