namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>blip2.stage2</c>: Q-Former output, projected, as a soft prompt to a frozen LLM.</summary>
public sealed class Blip2Stage2Options : QFormerOptions
{
    [Option("Shape of the frozen LLM.")]
    public LlmArchitecture Llm { get; set; } = LlmArchitecture.Decoder;

    [Option("Text prompt after the soft prompt.")]
    public string Prompt { get; set; } = "";
}
