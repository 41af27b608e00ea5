namespace Trainer.Worker.Runners;

/// <summary>A run of a kind this worker cannot run: not in the catalog, or no runner for it here. The run fails for good.</summary>
public sealed class StageKindNotRunnableException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}
