namespace Trainer.Worker.Runners.Gangs;

/// <summary>How this worker joins a gang (section <c>Worker:Gang</c>, e.g. <c>--Worker:Gang:Address=10.0.0.7</c>).</summary>
public sealed record GangOptions
{
    /// <summary>
    /// The address the gang's other ranks reach this worker at for Gloo's connections: this machine only by default;
    /// in a cluster, the pod's IP (the chart sets it from <c>status.podIP</c>). NCCL finds its own interfaces.
    /// </summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>How long a rank waits for the others to join (rendezvous included) before the generation fails.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long one collective may take before the rank gives up on the gang (a peer hung rather than gone: a peer whose
    /// process died closes its connections, and the others fail at once).
    /// </summary>
    public TimeSpan CollectiveTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>Which rank of which run's gang this process is, and of which generation.</summary>
public sealed record GangMember(string RunId, string ExperimentId, string StageId, int Rank, int WorldSize, int Generation);
