using VisionLanguage.Data.Tokenizers;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class SentencePieceModelFileTests
{
    [Fact]
    public void A_piece_is_written_with_the_protos_field_numbers()
    {
        var bytes = SentencePieceModelFile.Serialize(new SentencePieceModel([new("a", -1f, SentencePieceKind.Normal)], SentencePieceAlgorithm.Unigram, UnkId: 0, BosId: 1, EosId: 2, PadId: -1));

        // ModelProto.pieces (1, length-delimited, 10 bytes): piece (1, "a"), score (2, fixed32 −1.0f little-endian), type (3, NORMAL = 1).
        Assert.Equal([0x0A, 0x0A, 0x0A, 0x01, (byte)'a', 0x15, 0x00, 0x00, 0x80, 0xBF, 0x18, 0x01], bytes[..12]);
        // Then trainer_spec (2) and normalizer_spec (3).
        Assert.Equal(0x12, bytes[12]);
    }

    [Fact]
    public void Parse_reads_back_what_serialize_wrote()
    {
        var model = TokenizerTestFiles.T5Unigram with { NormalizerName = "identity", AddDummyPrefix = false, ByteFallback = true };

        var parsed = SentencePieceModelFile.Parse(SentencePieceModelFile.Serialize(model));

        Assert.Equal(model.Pieces, parsed.Pieces);
        Assert.Equal(model, parsed with { Pieces = model.Pieces });
    }

    [Fact]
    public void Absent_fields_take_the_protos_defaults()
    {
        var parsed = SentencePieceModelFile.Parse([]);

        Assert.Empty(parsed.Pieces);
        Assert.Equal((SentencePieceAlgorithm.Unigram, 0, 1, 2, -1, true, true, true), (parsed.Algorithm, parsed.UnkId, parsed.BosId, parsed.EosId, parsed.PadId, parsed.AddDummyPrefix, parsed.RemoveExtraWhitespaces, parsed.EscapeWhitespaces));
    }
}
