using Trainer.Worker.Runners.Gangs;

namespace Trainer.Worker;

/// <summary>
/// Who this worker is and what it offers the scheduler, bound from configuration section <see cref="Section"/>
/// (e.g. <c>--Worker:Slots=2</c> or <c>Worker__Slots=2</c>) and checked at start by <see cref="WorkerOptionsValidator"/>.
/// </summary>
public sealed record WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>The least time <see cref="StopTimeout"/> keeps beyond <see cref="DrainTimeout"/> for the runs' final reports, DeregisterWorker and the rest of the host.</summary>
    public static readonly TimeSpan StopReserve = TimeSpan.FromSeconds(5);

    /// <summary>Names the worker to the scheduler and its queue (<c>worker-{id}</c>). The host name by default,
    /// so a restarted worker comes back as itself; give each worker a distinct id when one machine runs several.</summary>
    public string WorkerId { get; init; } = Environment.MachineName;

    /// <summary>Runs taken at once; the scheduler assigns no more than this.</summary>
    public int Slots { get; init; } = 1;

    /// <summary><c>auto</c> (CUDA when TorchSharp finds it, else CPU), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>E.g. the GPU model; when empty, the CPU's model is read on Linux and a GPU stays unnamed.</summary>
    public string DeviceName { get; init; } = "";

    /// <summary>Memory of each slot's device in GiB; 0 means the worker's RAM on CPU, and unknown on CUDA.</summary>
    public double MemoryGib { get; init; }

    /// <summary>Free-form facts the scheduler may match on, e.g. <c>--Worker:Labels:zone=eu</c>.</summary>
    public Dictionary<string, string> Labels { get; init; } = [];

    /// <summary>
    /// Absolute folders under which imports (<c>dataset.import</c>, <c>model.import</c>) may read, e.g.
    /// <c>--Worker:ImportRoots:0=/data/coco</c>. None by default: a worker reads nothing outside the artifact store
    /// unless told where. The standalone host adds the user's home and the artifact folder when none are set.
    /// The worker advertises them when it registers, and the orchestrator refuses an import path outside all of them.
    /// </summary>
    public List<string> ImportRoots { get; init; } = [];

    /// <summary>
    /// Runs' caches in the artifact store (BLIP-2's frozen image features) older than this are deleted whenever a run keeps
    /// a new one, e.g. <c>--Worker:CacheMaxAge=7.00:00:00</c>.
    /// </summary>
    public TimeSpan CacheMaxAge { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Then the oldest caches are deleted until all of them together take at most this many bytes (the newest is always kept).</summary>
    public long CacheMaxBytes { get; init; } = 200L << 30;

    /// <summary>How often the worker tells the scheduler it is alive; the scheduler declares it lost after a few misses.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a cancelled or drained run may take to reach a step boundary, save its checkpoint and stop;
    /// a run still going after that is reported from its last committed checkpoint. At least
    /// <see cref="StopReserve"/> less than <see cref="StopTimeout"/>, which leaves the final reports their time.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long the process may take to stop once told to (SIGTERM, Ctrl+C): its runs get <see cref="DrainTimeout"/> to
    /// save a checkpoint, then the final reports, DeregisterWorker and the rest of the host share what is left. The host's
    /// shutdown timeout is set to it. The default exits well inside the 30 s Kubernetes gives a pod before it kills it.
    /// </summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long a run may go without progress (a training step, an evaluation batch, a decoded shard, a checkpoint) before
    /// the worker's watchdog fails it as retryable, so that a hung run (a stuck collective, a dead data source) is retried
    /// from its last checkpoint instead of holding its slot forever. Generous by default: the time to fetch inputs and
    /// build the model before the first step counts too.
    /// </summary>
    public TimeSpan ProgressTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The least time between two progress reports of a run; a run's last step is always reported.
    /// Training loops report every step, and a broker should not carry thousands of messages a second.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Threads libtorch uses for one operation (its intra-op pool); 0 (the default) keeps libtorch's choice, one per
    /// core. Set it when several workers share a machine: their pools then split the cores instead of each spinning on
    /// all of them (three training processes on 2 cores made a third of one process's progress; docs/decisions.md).
    /// </summary>
    public int TorchThreads { get; init; }

    /// <summary>Where runs keep their local files (one folder per run, removed when the run ends).</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "trainer-worker");

    /// <summary>Where the worker serves <c>/healthz</c>.</summary>
    public string HealthUrl { get; init; } = "http://127.0.0.1:5090";

    /// <summary>The port the worker serves its metrics on, at <c>/metrics</c> in Prometheus format; 0 (the default) serves none.</summary>
    public int MetricsPort { get; init; }

    /// <summary>The address the metrics port listens on: this machine only unless set, e.g. to <c>0.0.0.0</c> in a pod.</summary>
    public string MetricsAddress { get; init; } = "127.0.0.1";

    /// <summary>How the worker joins gangs of workers training one run data-parallel (<c>Worker:Gang:Address</c>, …).</summary>
    public GangOptions Gang { get; init; } = new();
}
