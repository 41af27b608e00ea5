using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>dataset.import</c>: a BLIP-format annotation file and its image root.</summary>
public sealed class DatasetImportOptions
{
    [Option("Absolute path of the BLIP annotation JSON (a list of {image, caption}), under one of the workers' import roots."), Required, ImportPath]
    public string Annotations { get; set; } = "";

    [Option("Absolute path of the folder the annotation's image paths are relative to, under one of the workers' import roots."), Required, ImportPath]
    public string ImageRoot { get; set; } = "";

    [Option("What a missing or undecodable image, or an empty caption, does: fail the stage, or skip the entry and count it.")]
    public BadDataPolicy OnBadData { get; set; } = BadDataPolicy.Fail;
}
