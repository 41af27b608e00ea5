namespace Orchestrator.Contracts.Catalog;

/// <summary>An output a stage kind declares; other stages consume it as <c>stage.name</c>.</summary>
public sealed record OutputSlot(string Name, ArtifactType Type, string Description);
