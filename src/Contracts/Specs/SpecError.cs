namespace Orchestrator.Contracts.Specs;

/// <summary>One problem in a submitted spec: where it is (a JSON-pointer-like path) and what to do about it.</summary>
public sealed record SpecError(string Path, string Message);
