using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace VisionLanguage.Data;

/// <summary>
/// An epoch's batches prepared on a background task a bounded number ahead of the reader, as <see cref="BlipDataLoader"/>
/// prepares its own; for loaders whose batches are a pure function of (epoch, batch), so prefetched and synchronously
/// loaded batches are the same. The time the reader waits is added to a counter the loader keeps.
/// </summary>
internal static class PrefetchedBatches
{
    /// <summary>
    /// Batches <paramref name="startBatch"/> … <paramref name="batches"/> − 1 of <paramref name="epoch"/>, each made by
    /// <paramref name="load"/>, up to <paramref name="prefetch"/> ahead. Leaving the loop early stops the task and disposes
    /// the batches it had prepared; an error while preparing one surfaces here, as itself.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadAsync<T>(
        Func<int, int, T> load, int epoch, int startBatch, int batches, int prefetch, StrongBox<long> waitTicks,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : IDisposable
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        if (startBatch >= batches)
        {
            yield break;
        }

        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(prefetch)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(channel.Writer, load, epoch, startBatch, batches, stop.Token), CancellationToken.None);
        try
        {
            for (var batch = startBatch; batch < batches; batch++)
            {
                if (!channel.Reader.TryRead(out var next))
                {
                    var waitStarted = Stopwatch.GetTimestamp();
                    try
                    {
                        next = await channel.Reader.ReadAsync(cancellationToken);
                    }
                    catch (ChannelClosedException closed) when (closed.InnerException is not null)
                    {
                        ExceptionDispatchInfo.Throw(closed.InnerException);
                    }
                    finally
                    {
                        Interlocked.Add(ref waitTicks.Value, Stopwatch.GetTimestamp() - waitStarted);
                    }
                }

                yield return next;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await producer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            while (channel.Reader.TryRead(out var unread))
            {
                unread.Dispose();
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> for 0 … <paramref name="count"/> − 1 on up to <paramref name="parallelism"/> threads; the first failure is thrown as itself.</summary>
    public static void ForEach(int count, int parallelism, Action<int> work)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) }, work);
        }
        catch (AggregateException aggregate)
        {
            ExceptionDispatchInfo.Throw(aggregate.InnerExceptions[0]);
        }
    }

    private static async Task ProduceAsync<T>(ChannelWriter<T> writer, Func<int, int, T> load, int epoch, int startBatch, int batches, CancellationToken cancellationToken)
        where T : IDisposable
    {
        try
        {
            for (var batch = startBatch; batch < batches; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var prepared = load(epoch, batch);
                try
                {
                    await writer.WriteAsync(prepared, cancellationToken);
                }
                catch
                {
                    prepared.Dispose();
                    throw;
                }
            }

            writer.Complete();
        }
        catch (Exception exception)
        {
            writer.Complete(exception);
            throw;
        }
    }
}
