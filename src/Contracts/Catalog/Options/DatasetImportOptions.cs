using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>dataset.import</c>: an annotation file (captions, one VQA split or one NLVR2 split), its format, and its image root.</summary>
public sealed class DatasetImportOptions
{
    [Option("Absolute path of the annotation JSON, under one of the workers' import roots: for format caption a BLIP file (a list of {image, caption}); for format vqa one split in LAVIS's VQAv2 format (a list of {question_id, question, answer: [...], image}, e.g. vqa_train.json); for format nlvr2 one split in BLIP's NLVR2 format (a list of {images: [left, right], sentence, label: \"True\" or \"False\"}, e.g. nlvr_train.json)."), Required, ImportPath]
    public string Annotations { get; set; } = "";

    [Option("What the annotation file holds: caption (BLIP captions), vqa (one VQA split, written to the dataset as vqa/NAME.json, NAME being the file's name without .json) or nlvr2 (one NLVR2 split, written as nlvr2/NAME.json).")]
    public DatasetFormat Format { get; set; } = DatasetFormat.Caption;

    [Option("Absolute path of the folder the annotation's image paths are relative to, under one of the workers' import roots."), Required, ImportPath]
    public string ImageRoot { get; set; } = "";

    [Option("What a missing or undecodable image, an empty caption, a malformed VQA entry (no question, answers not a list of strings, a repeated question id) or a malformed NLVR2 entry (not two images, no sentence, a label other than True or False) does: fail the stage, or skip the entry and count it.")]
    public BadDataPolicy OnBadData { get; set; } = BadDataPolicy.Fail;
}
