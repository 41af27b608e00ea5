namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The dtype a frozen LLM's weights are held in.</summary>
public enum LlmPrecision
{
    /// <summary>float32: exact on every device, twice bf16's memory.</summary>
    Fp32,

    /// <summary>bfloat16, as LAVIS holds Flan-T5; soft prompts are cast to it and logits back to float32.</summary>
    Bf16,
}
