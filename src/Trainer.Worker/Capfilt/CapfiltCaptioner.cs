using Orchestrator.Contracts.Catalog.Options;
using Trainer.Worker.Data;
using Trainer.Worker.Training;

namespace Trainer.Worker.Capfilt;

/// <summary>
/// CapFilt's captioner: samples <c>captions_per_image</c> captions per web image with nucleus sampling, each image's
/// draws seeded from (seed, image id) alone, so a shard's captions do not depend on the shards before it.
/// </summary>
public sealed class CapfiltCaptioner : IDisposable
{
    private readonly BlipCheckpointModel _captioner;
    private readonly BlipCapfiltOptions _options;

    public CapfiltCaptioner(string checkpointFolder, BlipCapfiltOptions options)
    {
        _captioner = BlipCheckpointModel.Load(checkpointFolder, "input 'captioner'");
        _options = options;
    }

    /// <summary>The synthetic captions of each image in <paramref name="imageIds"/>, in order.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Sample(BlipDataset dataset, IReadOnlyList<int> imageIds) =>
        throw new NotSupportedException(
            $"captions_per_image {_options.CaptionsPerImage}: nucleus sampling arrives with the captioner's decoding; set captions_per_image 0 to filter web captions only");

    public void Dispose() => _captioner.Dispose();
}
