namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>What an <c>evaluate</c> stage scores its checkpoint on, and so which checkpoints it takes.</summary>
public enum EvaluationTask
{
    /// <summary>Image-text retrieval both ways: recall@1/5/10, ITC top-k re-ranked by ITM.</summary>
    Retrieval,

    /// <summary>Captioning: BLEU-4 and CIDEr-D of the generated captions against the dataset's.</summary>
    Caption,

    /// <summary>Visual question answering: the official VQA accuracy of the answers to the dataset's questions.</summary>
    Vqa,

    /// <summary>NLVR2: accuracy of the true/false judgements of the dataset's statements about image pairs.</summary>
    Nlvr2,
}
