namespace Orchestrator.Contracts.Specs;

/// <summary>What an input consumes: one output reference, or a list of them.</summary>
public sealed record InputBinding(IReadOnlyList<OutputReference> References, bool IsList)
{
    public static InputBinding Single(OutputReference reference) => new([reference], false);

    public static InputBinding List(IReadOnlyList<OutputReference> references) => new(references, true);
}
