namespace Orchestrator.Contracts.Specs;

/// <summary>What one run of a stage needs: a gang of <see cref="Workers"/> workers, each giving the rest.</summary>
public sealed record ResourceRequest
{
    /// <summary>Workers in the gang; all are assigned at once or none.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Slots taken on each worker.</summary>
    public int Slots { get; init; } = 1;

    public DeviceKind Device { get; init; } = DeviceKind.Any;

    /// <summary>Device memory needed on each worker, in GiB; 0 means no requirement.</summary>
    public double MemoryGib { get; init; }

    /// <summary>Labels a worker must carry with these exact values.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}
