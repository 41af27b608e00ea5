using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Grains.Experiments;

/// <summary>How a silo takes in new experiments.</summary>
public sealed record ExperimentOptions
{
    public const string Section = "Experiments";

    /// <summary>
    /// How many experiments one silo creates at once; further submissions wait their turn (see <see cref="CreationGate"/>).
    /// </summary>
    [Range(1, 256)]
    public int ConcurrentCreations { get; init; } = 1;
}
