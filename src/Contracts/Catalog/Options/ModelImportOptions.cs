using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>model.import</c>: a checkpoint folder in HF's layout (<c>config.json</c>, <c>model.safetensors</c> or
/// shards listed by <c>model.safetensors.index.json</c>, tokenizer files) and the architecture it holds.
/// </summary>
public sealed class ModelImportOptions
{
    [Option("Absolute path of the checkpoint folder on the worker, under one of the workers' import roots."), Required, ImportPath]
    public string Path { get; set; } = "";

    [Option("What the folder holds; it fixes the stage's output: bert gives output text_encoder, clip_vit and eva_vit give image_encoder, opt and t5 give llm.")]
    public ModelArchitecture Architecture { get; set; } = ModelArchitecture.ClipVit;
}
