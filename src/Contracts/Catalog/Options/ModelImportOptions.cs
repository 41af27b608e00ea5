using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>model.import</c>: frozen weights (an image encoder or an LLM) from a safetensors file.</summary>
public sealed class ModelImportOptions
{
    [Option("Absolute path of the .safetensors file on the worker, under one of the workers' import roots."), Required, ImportPath]
    public string Path { get; set; } = "";

    [Option("Expected SHA-256 of the file; empty skips the check.")]
    public string Sha256 { get; set; } = "";
}
