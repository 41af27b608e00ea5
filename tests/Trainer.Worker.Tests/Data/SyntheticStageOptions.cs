using Orchestrator.Contracts.Catalog.Options;

namespace Trainer.Worker.Tests.Data;

/// <summary>Options of a small <c>dataset.synthetic</c> stage for the runner tests.</summary>
internal static class SyntheticStageOptions
{
    public static SyntheticDatasetOptions Of(int seed, int images = 60, int human = 12, int test = 10, double noise = 0.4) =>
        new() { Images = images, HumanImages = human, TestImages = test, WebNoise = noise, ImageSize = 64, Seed = seed };
}
