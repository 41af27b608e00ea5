namespace Orchestrator.Testing;

/// <summary>Small DAGs of the real runners: seconds, not minutes, for the standalone host; the silo's tests only submit them.</summary>
internal static class SmallDags
{
    /// <summary>
    /// Two synthetic datasets, <c>more</c> after <c>data</c>; <paramref name="firstImages"/> sets how long <c>data</c>
    /// runs (1,500 images is long enough for a reader to connect while it runs).
    /// </summary>
    public static string TwoDatasetsInARow(string name, int firstImages = 100) => $$"""
        name: {{name}}
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: {{firstImages}}, human_images: 10, test_images: 10, image_size: 16, seed: 1 }
          - id: more
            kind: dataset.synthetic
            needs: [data]
            config: { images: 100, human_images: 10, test_images: 10, image_size: 16, seed: 2 }
        """;
}
