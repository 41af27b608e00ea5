namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The annotation formats <c>dataset.import</c> reads.</summary>
public enum DatasetFormat
{
    /// <summary>A BLIP caption file: a JSON list of <c>{"image", "caption"}</c>, the caption a string or a list of strings.</summary>
    Caption,

    /// <summary>One VQA split in LAVIS's VQAv2 format: a JSON list of <c>{"question_id", "question", "answer": [...], "image"}</c>.</summary>
    Vqa,

    /// <summary>One NLVR2 split in BLIP's format: a JSON list of <c>{"images": [left, right], "sentence", "label": "True" | "False"}</c>.</summary>
    Nlvr2,
}
