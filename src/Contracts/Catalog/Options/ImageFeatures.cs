namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>How BLIP-2 stages get the frozen image encoder's output.</summary>
public enum ImageFeatures
{
    /// <summary>The encoder runs on every batch's augmented images, as LAVIS does: random crops and flips reach the Q-Former.</summary>
    Compute,

    /// <summary>
    /// The encoder runs once per image under the evaluation transform; the tokens are kept in the artifact store and
    /// reused across epochs, stages and reruns with the same encoder, data, image size and layer. No augmentation.
    /// </summary>
    Cache,
}
