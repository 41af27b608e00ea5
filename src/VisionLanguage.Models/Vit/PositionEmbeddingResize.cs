using static TorchSharp.torch;

namespace VisionLanguage.Models.Vit;

/// <summary>
/// LAVIS <c>interpolate_pos_embed</c>: a checkpoint's ViT position embeddings resized to another image size. The
/// [CLS] row stays as it is; the patch grid is resized bicubically (align_corners false), so a model pretrained at one
/// resolution loads at another.
/// </summary>
public static class PositionEmbeddingResize
{
    /// <summary>
    /// <paramref name="checkpoint"/> (1, 1 + g², D) resized to (1, 1 + <paramref name="gridSize"/>², D); returned
    /// unchanged (as a new handle) when the grids already agree.
    /// </summary>
    public static Tensor Resize(Tensor checkpoint, int gridSize)
    {
        const int extraTokens = 1;
        var width = checkpoint.shape[^1];
        var patches = checkpoint.shape[^2] - extraTokens;
        var oldGrid = (long)Math.Round(Math.Sqrt(patches));
        if (checkpoint.dim() != 3 || checkpoint.shape[0] != 1 || oldGrid * oldGrid != patches)
        {
            throw new ArgumentException(
                $"a ViT position embedding is (1, 1 + grid², width); got ({string.Join(", ", checkpoint.shape)})", nameof(checkpoint));
        }

        if (oldGrid == gridSize)
        {
            return checkpoint.alias();
        }

        using var scope = NewDisposeScope();
        var extra = checkpoint.narrow(1, 0, extraTokens);                     // (1, 1, D)
        var grid = checkpoint.narrow(1, extraTokens, patches)
            .reshape(1, oldGrid, oldGrid, width)                              // (1, g, g, D)
            .permute(0, 3, 1, 2);                                             // (1, D, g, g)
        var resized = nn.functional.interpolate(
            grid, size: [gridSize, gridSize], mode: InterpolationMode.Bicubic, align_corners: false); // (1, D, g', g')
        var tokens = resized.permute(0, 2, 3, 1).flatten(1, 2);               // (1, g'², D)
        return cat([extra, tokens], dim: 1).MoveToOuterDisposeScope();       // (1, 1 + g'², D)
    }
}
