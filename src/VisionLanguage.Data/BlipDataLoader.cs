using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>
/// Turns a <see cref="BlipDataset"/> into <see cref="BlipBatch"/>es in the order of a <see cref="DistributedSampler"/>:
/// decodes, transforms and normalises the images (in parallel within a batch), tokenizes and pads the captions.
/// <see cref="ReadEpochAsync"/> prepares batches on a background task, a bounded number ahead, so the trainer
/// rarely waits; the time it does wait is summed in <see cref="WaitTime"/> (its share of a step is the trainer's
/// <c>data_wait_share</c>). Batches are a pure function of (sampler, transform, epoch, batch), so prefetched and
/// synchronously loaded batches are identical.
/// </summary>
public sealed class BlipDataLoader
{
    /// <summary>Batches prepared ahead of the trainer by default.</summary>
    public const int DefaultPrefetch = 3;

    private readonly BlipDataset _dataset;
    private readonly BlipTokenizer _tokenizer;
    private readonly ImageTransform _transform;
    private readonly int _maxTextLength;
    private readonly int _prefetch;
    private readonly int _parallelism;
    private readonly string _captionPrefix;
    private long _waitTicks;

    /// <summary>
    /// A loader of <paramref name="dataset"/> in <paramref name="sampler"/>'s order; captions padded to
    /// <paramref name="maxTextLength"/>; <paramref name="prefetch"/> batches prepared ahead; <paramref name="parallelism"/>
    /// threads decode the images of one batch (by default half the cores, as training uses the rest);
    /// <paramref name="captionPrefix"/> is put before every caption as it is tokenized (a caption finetune's prompt,
    /// as LAVIS <c>blip_caption</c> does); <see cref="BlipBatch.Captions"/> keep the captions as read.
    /// </summary>
    public BlipDataLoader(
        BlipDataset dataset,
        BlipTokenizer tokenizer,
        DistributedSampler sampler,
        ImageTransform transform,
        int maxTextLength,
        int prefetch = DefaultPrefetch,
        int? parallelism = null,
        string captionPrefix = "")
    {
        if (sampler.DatasetSize != dataset.Count)
        {
            throw new ArgumentException($"the sampler orders {sampler.DatasetSize} samples but the dataset has {dataset.Count}", nameof(sampler));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxTextLength, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        _dataset = dataset;
        _tokenizer = tokenizer;
        Sampler = sampler;
        _transform = transform;
        _maxTextLength = maxTextLength;
        _prefetch = prefetch;
        _parallelism = Math.Max(1, parallelism ?? Environment.ProcessorCount / 2);
        _captionPrefix = captionPrefix;
    }

    public DistributedSampler Sampler { get; }

    /// <summary>
    /// The training loader for this rank: shuffled from the seed, a batch per rank with the tail dropped, random-resized
    /// crops to the image size (scale and flip as <paramref name="settings"/> say), captions (after
    /// <paramref name="captionPrefix"/>) padded to the maximum text length.
    /// </summary>
    public static BlipDataLoader ForTraining(
        BlipDataset dataset, BlipTokenizer tokenizer, LoaderSettings settings, int rank = 0, int worldSize = 1, int prefetch = DefaultPrefetch,
        string captionPrefix = "") =>
        new(
            dataset,
            tokenizer,
            new DistributedSampler(dataset.Count, settings.BatchSize, settings.Seed, rank, worldSize, shuffle: true, dropLast: true),
            ImageTransform.Train(settings.ImageSize, settings.CropMinScale, settings.CropMaxScale, settings.HorizontalFlip, settings.Seed),
            settings.MaxTextLength,
            prefetch,
            captionPrefix: captionPrefix);

    /// <summary>
    /// The evaluation loader for this rank: every sample in file order (the last batch may be smaller; with several
    /// ranks a few samples are read twice to even the shards), whole images resized to the image size.
    /// </summary>
    public static BlipDataLoader ForEvaluation(
        BlipDataset dataset, BlipTokenizer tokenizer, LoaderSettings settings, int rank = 0, int worldSize = 1, int prefetch = DefaultPrefetch) =>
        new(
            dataset,
            tokenizer,
            new DistributedSampler(dataset.Count, settings.BatchSize, settings.Seed, rank, worldSize, shuffle: false, dropLast: false),
            ImageTransform.Eval(settings.ImageSize),
            settings.MaxTextLength,
            prefetch);

    public int BatchesPerEpoch => Sampler.BatchesPerEpoch;

    /// <summary>
    /// The next batch to hand out: after <see cref="ReadEpochAsync"/> yields batch b of epoch e, (e, b + 1). Save it
    /// (through <see cref="DistributedSampler.CaptureState"/>) with a checkpoint taken after that batch's step.
    /// </summary>
    public SamplerPosition Position { get; private set; }

    /// <summary>Time the consumer of <see cref="ReadEpochAsync"/> spent waiting for a batch, in total.</summary>
    public TimeSpan WaitTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _waitTicks));

    /// <summary>Builds batch <paramref name="batch"/> of <paramref name="epoch"/> on the calling thread.</summary>
    public BlipBatch LoadBatch(int epoch, int batch)
    {
        var indices = Sampler.BatchIndices(epoch, batch);
        var count = indices.Length;
        var length = _transform.OutputLength;
        var pixels = new float[count * length];
        var ids = new long[count * _maxTextLength];
        var mask = new long[count * _maxTextLength];
        var imageIds = new long[count];
        var captions = new string[count];
        var samples = _dataset.Samples;

        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _parallelism }, i =>
            {
                var index = indices.Span[i];
                _dataset.LoadImage(samples[index].ImageId, _transform, epoch, index, pixels.AsSpan(i * length, length));
            });
        }
        catch (AggregateException aggregate)
        {
            // The first image that failed, as itself (say, an InvalidDataException naming the file).
            ExceptionDispatchInfo.Throw(aggregate.InnerExceptions[0]);
        }

        for (var i = 0; i < count; i++)
        {
            var sample = samples[indices.Span[i]];
            imageIds[i] = sample.ImageId;
            captions[i] = sample.Caption;
            _tokenizer.EncodePadded(_captionPrefix + sample.Caption, ids.AsSpan(i * _maxTextLength, _maxTextLength), mask.AsSpan(i * _maxTextLength, _maxTextLength));
        }

        var size = _transform.ImageSize;
        var images = torch.tensor(pixels, [count, 3, size, size], torch.float32, device: torch.CPU);
        try
        {
            return new BlipBatch(
                images,
                torch.tensor(ids, [count, _maxTextLength], torch.int64, device: torch.CPU),
                torch.tensor(mask, [count, _maxTextLength], torch.int64, device: torch.CPU),
                imageIds,
                captions);
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on (a resumed position), prepared
    /// on a background task up to the prefetch depth ahead. Leaving the loop early stops the task and disposes the
    /// batches it had prepared; an error while preparing a batch surfaces here.
    /// </summary>
    public async IAsyncEnumerable<BlipBatch> ReadEpochAsync(int epoch, int startBatch = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        Position = new SamplerPosition(epoch, startBatch);
        if (startBatch >= BatchesPerEpoch)
        {
            yield break;
        }

        var channel = Channel.CreateBounded<BlipBatch>(new BoundedChannelOptions(_prefetch)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(channel.Writer, epoch, startBatch, stop.Token), CancellationToken.None);
        try
        {
            for (var batch = startBatch; batch < BatchesPerEpoch; batch++)
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
                        // The producer's own error (say, a BadDataException), not the channel's wrapper.
                        ExceptionDispatchInfo.Throw(closed.InnerException);
                    }
                    finally
                    {
                        Interlocked.Add(ref _waitTicks, Stopwatch.GetTimestamp() - waitStarted);
                    }
                }

                Position = new SamplerPosition(epoch, batch + 1);
                yield return next;
            }
        }
        finally
        {
            // Stops a producer still running (the loop was left early); its errors already reached the reader.
            await stop.CancelAsync();
            await producer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            while (channel.Reader.TryRead(out var unread))
            {
                unread.Dispose();
            }
        }
    }

    private async Task ProduceAsync(ChannelWriter<BlipBatch> writer, int epoch, int startBatch, CancellationToken cancellationToken)
    {
        try
        {
            for (var batch = startBatch; batch < BatchesPerEpoch; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var prepared = LoadBatch(epoch, batch);
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
