namespace Orchestrator.Contracts.Catalog;

/// <summary>Documents an option; the text is served with the stage-kind catalog.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionAttribute(string description) : Attribute
{
    public string Description { get; } = description;
}
