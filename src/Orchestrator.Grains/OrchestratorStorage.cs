namespace Orchestrator.Grains;

/// <summary>The grain storage every orchestrator grain keeps its state in (memory standalone, Azure blob storage in a cluster).</summary>
public static class OrchestratorStorage
{
    public const string Name = "orchestrator";
}
