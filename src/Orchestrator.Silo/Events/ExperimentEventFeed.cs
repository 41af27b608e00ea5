using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orleans.Streams;

namespace Orchestrator.Silo.Events;

/// <summary>
/// An experiment's events for one reader (the events API, <c>--run</c>): what it is now, then every change as
/// the experiment publishes it on its stream, until a final status. The experiment publishes only while someone
/// watches, so the feed renews its watch as it reads. Every few seconds without an event it re-reads the
/// experiment, so an event lost with a silo costs a delay, not a change, and an end is never missed.
/// </summary>
public sealed class ExperimentEventFeed(IClusterClient cluster)
{
    /// <summary>How long the feed waits for a live event before it re-reads the experiment.</summary>
    public static readonly TimeSpan CatchUpInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long each watch asks the experiment to publish; the feed renews it at a third of that.</summary>
    public static readonly TimeSpan WatchLease = TimeSpan.FromSeconds(30);

    /// <summary>Whether the experiment exists.</summary>
    public async Task<bool> ExistsAsync(string experimentId) => await cluster.GetGrain<IExperimentGrain>(experimentId).GetAsync() is not null;

    /// <summary>
    /// The events of <paramref name="experimentId"/>, beginning with its current state; ends after a final status
    /// (at once for an experiment that already ended), or with nothing for an unknown experiment.
    /// </summary>
    public async IAsyncEnumerable<ExperimentEvent> ReadAsync(string experimentId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var experiment = cluster.GetGrain<IExperimentGrain>(experimentId);
        var live = Channel.CreateUnbounded<ExperimentEvent>(new UnboundedChannelOptions { SingleReader = true });

        // Subscribed before the first read, so no change falls between the two; the tracker drops what both tell.
        var subscription = await cluster.GetStreamProvider(ExperimentEventStreams.Provider)
            .GetStream<ExperimentEvent>(ExperimentEventStreams.Of(experimentId))
            .SubscribeAsync((change, _) => live.Writer.WriteAsync(change).AsTask());
        try
        {
            // Watching before the first read, for the same reason.
            await experiment.WatchAsync(WatchLease);
            var watched = Stopwatch.StartNew();
            var tracker = new ExperimentEventTracker();
            var view = await experiment.GetAsync();
            while (view is not null)
            {
                foreach (var change in tracker.CatchUp(view))
                {
                    yield return change;
                }

                view = null;
                while (!tracker.Ended && view is null)
                {
                    if (watched.Elapsed >= WatchLease / 3)
                    {
                        await experiment.WatchAsync(WatchLease);
                        watched.Restart();
                    }

                    if (await WaitForLiveEventAsync(live.Reader, cancellationToken))
                    {
                        var change = await live.Reader.ReadAsync(cancellationToken);
                        if (tracker.Accept(change))
                        {
                            yield return change;
                        }
                    }
                    else
                    {
                        view = await experiment.GetAsync();
                    }
                }
            }
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    /// <summary>True when an event is ready; false when <see cref="CatchUpInterval"/> passed without one.</summary>
    private static async Task<bool> WaitForLiveEventAsync(ChannelReader<ExperimentEvent> reader, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CatchUpInterval);
        try
        {
            return await reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
