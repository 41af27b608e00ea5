using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Testing;

/// <summary>A BLIP small enough for unit tests: 16-pixel images, one block each side, width 32, a 40-token vocabulary.</summary>
internal static class TinyBlip
{
    public const int VocabSize = 40;
    public const int TextLength = 8;

    public static BlipSpecialTokens Tokens { get; } = new(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);

    public static BlipModelConfig Config(int queueSize = 16, int layers = 1, int width = 32) => new()
    {
        Vision = new VitConfig { ImageSize = 16, PatchSize = 8, Width = width, Depth = layers, Heads = 2 },
        Text = new MedConfig
        {
            VocabSize = VocabSize,
            HiddenSize = width,
            Layers = layers,
            Heads = 2,
            IntermediateSize = 2 * width,
            MaxPositionEmbeddings = 16,
            EncoderWidth = width,
            PadTokenId = Tokens.PadId,
        },
        EmbedDim = 16,
        QueueSize = queueSize,
    };

    public static BlipPretrainModel Model(long seed = 1, int queueSize = 16) => new(Config(queueSize), Tokens, seed);

    public static SyntheticPretrainBatches Data(long seed = 5, int classes = 6) =>
        new(Config(), Tokens, classes, TextLength, seed);
}
