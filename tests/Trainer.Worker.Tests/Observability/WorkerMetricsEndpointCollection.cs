namespace Trainer.Worker.Tests.Observability;

/// <summary>Runs its tests after the others, not beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WorkerMetricsEndpointCollection
{
    public const string Name = "Worker metrics endpoint";
}
