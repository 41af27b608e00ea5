namespace Orchestrator.Grains.Experiments.Index;

/// <summary>The experiment index of the first layout (one state with every summary), kept only to move what it holds into the partitions.</summary>
[Alias("IExperimentIndexGrain")]
public interface ILegacyExperimentIndexGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Adds every summary it holds to its partition (a partition keeps a summary it already has: it is newer), then
    /// clears its state and tells the directory. Repeating it is harmless.
    /// </summary>
    [Alias("MoveToPartitions")]
    Task MoveToPartitionsAsync();
}
