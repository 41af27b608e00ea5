namespace Orchestrator.Contracts.Messages;

/// <summary>What a worker offers the scheduler.</summary>
public sealed record WorkerCapacityInfo
{
    /// <summary>Runs it takes at once.</summary>
    public required int Slots { get; init; }

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    public required string Device { get; init; }

    /// <summary>E.g. the GPU model, or the CPU's.</summary>
    public string DeviceName { get; init; } = "";

    /// <summary>Device memory per slot's device, in GiB (0 when unknown).</summary>
    public double MemoryGib { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Absolute folders under which the worker reads import sources (<c>Worker:ImportRoots</c>); empty when it reads none.</summary>
    public IReadOnlyList<string> ImportRoots { get; init; } = [];

    /// <summary>The stage kinds the worker has runners for; the scheduler places no other kind on it.</summary>
    public IReadOnlyList<string> StageKinds { get; init; } = [];

    /// <summary>
    /// The collective backends the worker can join a gang with (<see cref="CollectiveBackends.Gloo"/> on CPU,
    /// <see cref="CollectiveBackends.Nccl"/> on CUDA); a worker without one for its device takes no run of more than one worker.
    /// </summary>
    public IReadOnlyList<string> CollectiveBackends { get; init; } = [];
}
