using Microsoft.Extensions.Logging;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Weights;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// The frozen encoder's tokens for every image of a dataset, computed once under the evaluation transform (resize, no
/// crop, no flip) and reused across epochs, stages and reruns (<c>image_features: cache</c>, an addition none of the
/// references has). A cache folder holds <c>features-NNNNN.safetensors</c> chunks of <see cref="ChunkImages"/> images
/// each (float32, (n, tokens, width), in image-id order) and <see cref="DescriptionFile"/>. Its key (<see cref="Key"/>)
/// covers everything the tokens depend on: the encoder's and the datasets' content digests, the image size and the
/// blocks read, and the encoder's dtype where it is not float32 (bfloat16 on CUDA, <see cref="FrozenPrecision"/>), so
/// features a GPU computed are never taken for a CPU's.
/// </summary>
public sealed class FrozenFeatureCache : IDisposable
{
    /// <summary>The cache's name at the task's cache port.</summary>
    public const string CacheName = "image_features";

    public const string DescriptionFile = "feature_cache.json";

    private const string Format = "blip2.image_features/1";
    private const int ChunkImages = 256;

    private readonly Tensor _features;

    private FrozenFeatureCache(Tensor features) => _features = features;

    /// <summary>Images cached.</summary>
    public long Images => _features.shape[0];

    /// <summary>
    /// The key of the tokens <paramref name="encoderDigest"/> gives for the images of <paramref name="datasetDigests"/>
    /// (in training order) at <paramref name="imageSize"/> after <paramref name="blocksUsed"/> blocks, with the encoder
    /// held in <paramref name="encoderDtype"/>.
    /// </summary>
    public static string Key(string encoderDigest, IReadOnlyList<string> datasetDigests, int imageSize, int blocksUsed, ScalarType encoderDtype = ScalarType.Float32)
    {
        var identity = new JsonObject
        {
            ["format"] = Format,
            ["encoder"] = encoderDigest,
            ["datasets"] = new JsonArray([.. datasetDigests.Select(digest => (JsonNode?)JsonValue.Create(digest))]),
            ["image_size"] = imageSize,
            ["blocks_used"] = blocksUsed,
            ["transform"] = "eval",
        };
        if (encoderDtype != ScalarType.Float32)
        {
            identity["precision"] = encoderDtype.ToString(); // float32 keys stay what they were
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToJsonString())));
    }

    /// <summary>Computes every image of <paramref name="dataset"/> through <paramref name="encoder"/> into <paramref name="folder"/>, in chunks.</summary>
    public static void Write(BlipDataset dataset, FrozenImageEncoder encoder, int imageSize, int batchSize, string folder, TaskPulse pulse)
    {
        Directory.CreateDirectory(folder);
        var transform = ImageTransform.Eval(imageSize);
        var device = encoder.parameters().First().device;
        var chunks = 0;
        for (var start = 0; start < dataset.ImageCount; start += ChunkImages, chunks++)
        {
            var count = Math.Min(ChunkImages, dataset.ImageCount - start);
            var parts = new List<Tensor>();
            try
            {
                for (var offset = 0; offset < count; offset += batchSize)
                {
                    pulse.Beat();
                    var ids = Enumerable.Range(start + offset, Math.Min(batchSize, count - offset)).ToList();
                    using var images = dataset.LoadImages(ids, transform);
                    using var onDevice = images.to(device);
                    using var tokens = encoder.Encode(onDevice);
                    parts.Add(tokens.cpu());
                }

                using var chunk = cat(parts, dim: 0);
                Safetensors.Save(Path.Combine(folder, ChunkFile(chunks)), [("features", chunk)], new Dictionary<string, string> { ["format"] = "pt" });
            }
            finally
            {
                parts.ForEach(part => part.Dispose());
            }
        }

        File.WriteAllText(Path.Combine(folder, DescriptionFile), new JsonObject
        {
            ["format"] = Format,
            ["images"] = dataset.ImageCount,
            ["chunks"] = chunks,
            ["chunk_images"] = ChunkImages,
            ["tokens"] = encoder.Config.Tokens,
            ["width"] = encoder.Width,
        }.ToJsonString(BlipCheckpointDescription.Json));
    }

    /// <summary>
    /// The cache in <paramref name="folder"/>, in memory, or null (with <paramref name="problem"/> saying why) when it does
    /// not hold <paramref name="encoder"/>'s tokens (and, when given, exactly <paramref name="images"/> images).
    /// </summary>
    public static FrozenFeatureCache? TryOpen(string folder, int? images, FrozenImageEncoder encoder, out string problem)
    {
        var description = Path.Combine(folder, DescriptionFile);
        var read = File.Exists(description) ? JsonNode.Parse(File.ReadAllText(description)) : null;
        var expected = (Format, images ?? read?["images"]?.GetValue<int>(), encoder.Config.Tokens, encoder.Width);
        var found = (read?["format"]?.GetValue<string>(), read?["images"]?.GetValue<int>(), read?["tokens"]?.GetValue<int>(), read?["width"]?.GetValue<int>());
        if (found != expected)
        {
            problem = $"it describes {found}, not {expected} (format, images, tokens, width)";
            return null;
        }

        var chunks = new List<Tensor>();
        try
        {
            for (var chunk = 0; chunk < read!["chunks"]!.GetValue<int>(); chunk++)
            {
                var tensors = Safetensors.Load(Path.Combine(folder, ChunkFile(chunk)));
                chunks.Add(tensors["features"]);
            }

            var features = cat(chunks, dim: 0);
            problem = "";
            return new FrozenFeatureCache(features);
        }
        finally
        {
            chunks.ForEach(chunk => chunk.Dispose());
        }
    }

    /// <summary>
    /// The frozen encoder's tokens of every training image: found at the run's cache port under their key, or computed
    /// under the evaluation transform and kept there. Without content digests (a local run) there is no key, and the
    /// tokens are computed for this run only. In a gang every rank needs every image (each epoch shuffles which pairs its
    /// shard reads), so a rank that finds no kept cache computes all of it, in a folder of its own
    /// (<see cref="TaskTraining.RankFolder"/>) and in the time rank 0 takes anyway, rather than wait in a collective that
    /// could time out meanwhile. Only rank 0 keeps it: one writer per key at the port, which every rank of a later run reads.
    /// </summary>
    public static async Task<FrozenFeatureCache> OpenForRunAsync(
        TaskRun run, InputFolder encoderInput, FrozenImageEncoder encoder, IReadOnlyList<InputFolder> train, LoaderSettings loader, BadDataPolicy badData, CancellationToken cancellationToken)
    {
        var digests = train.Select(input => input.ContentDigest).ToList();
        var key = encoderInput.ContentDigest is { } encoderDigest && digests.All(digest => digest is not null)
            ? FrozenFeatureCache.Key(encoderDigest, digests!, loader.ImageSize, encoder.BlocksUsed, encoder.DType)
            : null;
        if (key is not null && await run.Caches.FindAsync(FrozenFeatureCache.CacheName, key, cancellationToken) is { } found)
        {
            // The key pins the datasets, so their images need not be opened (each decoded) to check the count.
            if (FrozenFeatureCache.TryOpen(found, images: null, encoder, out var problem) is { } kept)
            {
                run.Logger.LogInformation("Frozen image features of {Images} images from the cache ({Key})", kept.Images, key);
                return kept;
            }

            run.Logger.LogWarning("The kept image features {Key} do not fit this run ({Problem}); computing them again", key, problem);
        }

        using var dataset = BlipDataset.Open([.. train.Select(input => BlipDatasetSource.Folder(input.Directory))], badData);
        var folder = TaskTraining.RankFolder(run, FrozenFeatureCache.CacheName);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        FrozenFeatureCache.Write(dataset, encoder, loader.ImageSize, loader.BatchSize, folder, TaskPulse.Of(run, cancellationToken));
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        run.Logger.LogInformation("Computed the frozen image features of {Images} images in {Seconds:F1} s", dataset.ImageCount, seconds);
        if (key is not null && TaskTraining.WritesOutputs(run))
        {
            await run.Caches.KeepAsync(
                FrozenFeatureCache.CacheName, key, folder, new Dictionary<string, double> { ["images"] = dataset.ImageCount, ["seconds"] = seconds }, cancellationToken);
        }
        else if (key is null)
        {
            run.Logger.LogWarning("The image encoder or a training dataset has no content digest, so the image features are not kept for other runs");
        }

        return FrozenFeatureCache.TryOpen(folder, dataset.ImageCount, encoder, out var written) ?? throw new InvalidOperationException($"the image features just written do not read back: {written}");
    }

    /// <summary>The cached tokens of <paramref name="imageIds"/>, (B, tokens, width), on <paramref name="device"/>.</summary>
    public Tensor Lookup(long[] imageIds, Device device)
    {
        using var ids = tensor(imageIds, device: CPU);                            // the cache is held on the CPU
        using var rows = _features.index_select(0, ids);
        return rows.to(device);
    }

    public void Dispose() => _features.Dispose();

    private static string ChunkFile(int chunk) => $"features-{chunk:D5}.safetensors";
}

/// <summary>
/// Stage 1's batches with <c>image_features: cache</c>: each image-caption batch of <paramref name="pairs"/> with its
/// images replaced by the cached tokens of its image ids; the batch's own (augmented) pixels are dropped unread.
/// </summary>
public sealed class CachedFeatureBatches(IBatchSource<BlipPretrainBatch> pairs, FrozenFeatureCache cache, Device device) : IBatchSource<Blip2Stage1Batch>
{
    public int BatchSize => pairs.BatchSize;

    public long BatchesPerEpoch => pairs.BatchesPerEpoch;

    public async IAsyncEnumerable<Blip2Stage1Batch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in pairs.ReadEpochAsync(epoch, start, cancellationToken))
        {
            batch.Images.Dispose();
            yield return new Blip2Stage1Batch(cache.Lookup(batch.ImageIds, device), batch.TextIds, batch.TextMask, batch.ImageIds);
        }
    }
}
