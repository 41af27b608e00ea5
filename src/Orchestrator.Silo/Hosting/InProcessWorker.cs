using MassTransit;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The seam through which a host that also holds a worker (the standalone host, <c>src/Orchestrator.Standalone</c>) adds
/// it to the silo's process, so that this project knows nothing of the worker side: the cluster silo ships without
/// TorchSharp, and only the standalone host references both planes (docs/decisions/house-layout.md).
/// </summary>
public sealed record InProcessWorker
{
    /// <summary>
    /// Settings the host starts from, below every configuration source (files, environment, command line, a test's
    /// settings), so any of them can still override one; the standalone host's: standalone mode and the in-memory bus.
    /// </summary>
    public IReadOnlyDictionary<string, string?> DefaultSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Adds the worker's consumers to the silo's bus, beside the orchestrator's report and presence consumers.</summary>
    public required Action<IBusRegistrationConfigurator> AddConsumers { get; init; }

    /// <summary>
    /// Adds the worker's services (the agent, its runners, the artifact store) and a <see cref="Api.LocalWorker"/> with
    /// its import roots and stage kinds, which submissions are checked against before the worker has registered (a
    /// <c>--run</c> submits at once).
    /// </summary>
    public required Action<WebApplicationBuilder> AddServices { get; init; }

    /// <summary>The worker's meters, served on the silo's <c>/metrics</c> beside the orchestrator's.</summary>
    public IReadOnlyList<string> MeterNames { get; init; } = [];

    /// <summary>The worker's activity sources, exported with the orchestrator's when traces are.</summary>
    public IReadOnlyList<string> TraceSources { get; init; } = [];
}
