using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Events;

/// <summary>
/// Where experiment events travel: an Orleans memory stream per experiment (provider <see cref="Provider"/>,
/// keyed by the experiment id). Memory streams live in queue grains, so any silo of the cluster can publish
/// and any silo can subscribe; nothing is persisted (see docs/decisions/live-events.md).
/// </summary>
public static class ExperimentEventStreams
{
    public const string Provider = "experiment-events";

    /// <summary>The grain storage Orleans keeps stream subscriptions in.</summary>
    public const string PubSubStore = "PubSubStore";

    private const string Namespace = "experiment";

    public static StreamId Of(string experimentId) => StreamId.Create(Namespace, experimentId);

    /// <summary>The memory stream provider; the host adds <see cref="PubSubStore"/> (memory standalone, Azure blob storage in a cluster).</summary>
    public static ISiloBuilder AddExperimentEventStreams(this ISiloBuilder silo) => silo.AddMemoryStreams(Provider);

    /// <summary>
    /// Publishes an event from a grain. A live event is best-effort: readers also re-read the experiment, so a
    /// failed publish is logged and the grain's own work (a report, a transition) goes on.
    /// </summary>
    internal static async Task PublishAsync(this Grain grain, ExperimentEvent change, ILogger logger)
    {
        try
        {
            await grain.GetStreamProvider(Provider).GetStream<ExperimentEvent>(Of(change.ExperimentId)).OnNextAsync(change);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "The {Type} event of experiment {ExperimentId} could not be published; readers catch up from its state",
                change.Type, change.ExperimentId);
        }
    }
}
