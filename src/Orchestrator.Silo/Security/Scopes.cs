namespace Orchestrator.Silo.Security;

/// <summary>
/// What a caller may do. <see cref="Admin"/> holds every other scope. Each endpoint names the scope it needs;
/// cancel, resume and rerun need <see cref="Operate"/>, or <see cref="Submit"/> on the caller's own experiment.
/// </summary>
public static class Scopes
{
    /// <summary>Read experiments, their events and lineage, the catalog and the workers.</summary>
    public const string Read = "read";

    /// <summary>Submit experiments; cancel, resume and rerun one's own.</summary>
    public const string Submit = "submit";

    /// <summary>Cancel, resume and rerun anyone's experiments.</summary>
    public const string Operate = "operate";

    /// <summary>Everything, and the administration endpoints.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Read, Submit, Operate, Admin];
}
