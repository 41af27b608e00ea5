namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The architectures <c>model.import</c> reads; each fixes the checkpoint's names and the artifact it becomes.</summary>
public enum ModelArchitecture
{
    /// <summary>A BERT text encoder in HF transformers' naming (<c>bert-base-uncased</c>: config.json, safetensors, vocab.txt).</summary>
    Bert,

    /// <summary>A CLIP vision tower in HF transformers' naming (<c>vision_model.*</c> of <c>CLIPVisionModel</c> or <c>CLIPModel</c>).</summary>
    ClipVit,

    /// <summary>An EVA-CLIP ViT in LAVIS's naming (<c>eva_vit.py</c>: fused qkv without bias, separate q and v biases).</summary>
    EvaVit,

    /// <summary>An OPT-architecture decoder-only LLM in HF transformers' naming (<c>OPTForCausalLM</c>: config.json, safetensors, vocab.json, merges.txt).</summary>
    Opt,

    /// <summary>A T5 encoder-decoder LLM (T5 v1.1, Flan-T5) in HF transformers' naming (<c>T5ForConditionalGeneration</c>: config.json, safetensors, spiece.model).</summary>
    T5,
}
