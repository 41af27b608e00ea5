namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// Marks a string option as a path the worker reads from its own file system (an import's source). Such a path
/// must lie under one of the import roots the workers advertise: the orchestrator checks it as written when the
/// spec is submitted, and the worker checks it again, on the resolved real path, when it opens it.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ImportPathAttribute : Attribute;
