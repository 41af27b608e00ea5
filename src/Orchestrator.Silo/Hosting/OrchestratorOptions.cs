using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Silo.Hosting;

/// <summary>How the silo keeps state and finds its cluster.</summary>
public sealed record OrchestratorOptions
{
    public const string Section = "Orchestrator";

    public OrchestratorMode Mode { get; init; } = OrchestratorMode.Standalone;

    /// <summary>The Azure Storage account of membership, grain state and reminders; required in cluster mode (<c>Orchestrator:Storage</c>).</summary>
    public ClusterStorageOptions Storage { get; init; } = new();

    [Required]
    public string ClusterId { get; init; } = "orchestrator";

    [Required]
    public string ServiceId { get; init; } = "orchestrator";

    [Range(1, 65535)]
    public int SiloPort { get; init; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; init; } = 30001;

    /// <summary>The address silos advertise to each other; loopback unless set.</summary>
    public string AdvertisedAddress { get; init; } = "127.0.0.1";

    /// <summary>
    /// Run a worker inside this process; unset means: in standalone mode, yes; in a cluster, no. Only a host that holds a
    /// worker (the standalone host) can: the cluster silo refuses <c>true</c> and ignores the standalone default.
    /// </summary>
    public bool? InProcessWorker { get; init; }

    public bool RunsInProcessWorker => InProcessWorker ?? Mode == OrchestratorMode.Standalone;

    /// <summary>
    /// An events stream quiet for this long gets a <c>keep-alive</c> event, so proxies and load balancers that close
    /// idle connections (often after 60 s) keep it open while a stage waits for a worker.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Orchestrator:EventKeepAlive must be from 10 ms to 10 minutes, e.g. 00:00:15")]
    public TimeSpan EventKeepAlive { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>Where the orchestrator's state lives.</summary>
public enum OrchestratorMode
{
    /// <summary>One process: localhost clustering, state and reminders in memory.</summary>
    Standalone,

    /// <summary>Silos sharing an Azure Storage account for membership, reminders (tables) and grain state (blobs).</summary>
    Cluster,
}
