using Google.Protobuf;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>A piece's kind, with the numbers of sentencepiece's <c>ModelProto.SentencePiece.Type</c>.</summary>
public enum SentencePieceKind
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>The segmentation algorithm, with the numbers of sentencepiece's <c>TrainerSpec.ModelType</c>.</summary>
public enum SentencePieceAlgorithm
{
    Unigram = 1,
    Bpe = 2,
    Word = 3,
    Char = 4,
}

/// <summary>One entry of a SentencePiece vocabulary; its id is its position.</summary>
public sealed record SentencePieceEntry(string Piece, float Score, SentencePieceKind Kind);

/// <summary>
/// What a <c>.model</c> file holds that this project reads or writes: the pieces, the algorithm, the special ids and
/// pieces of <c>TrainerSpec</c> (−1: none), and the <c>NormalizerSpec</c> switches. Fields it does not model are left
/// out when writing and skipped when reading.
/// </summary>
public sealed record SentencePieceModel(
    IReadOnlyList<SentencePieceEntry> Pieces,
    SentencePieceAlgorithm Algorithm,
    int UnkId,
    int BosId,
    int EosId,
    int PadId,
    string UnkPiece = "<unk>",
    string BosPiece = "<s>",
    string EosPiece = "</s>",
    string PadPiece = "<pad>",
    bool ByteFallback = false,
    string NormalizerName = "identity",
    bool AddDummyPrefix = true,
    bool RemoveExtraWhitespaces = true,
    bool EscapeWhitespaces = true);

/// <summary>
/// Reads and writes sentencepiece's serialized <c>ModelProto</c> (src/sentencepiece_model.proto, proto2) in the wire
/// format, with the proto's own field numbers, so no generated code is needed. Writes fields in field-number order, as
/// sentencepiece's C++ does, so the same model always gives the same bytes.
/// </summary>
public static class SentencePieceModelFile
{
    // ModelProto
    private const int PiecesField = 1;
    private const int TrainerSpecField = 2;
    private const int NormalizerSpecField = 3;

    // ModelProto.SentencePiece
    private const int PieceField = 1;
    private const int ScoreField = 2;
    private const int TypeField = 3;

    // TrainerSpec
    private const int ModelTypeField = 3;
    private const int VocabSizeField = 4;
    private const int SplitByUnicodeScriptField = 21;
    private const int SplitByNumberField = 23;
    private const int ByteFallbackField = 35;
    private const int UnkIdField = 40;
    private const int BosIdField = 41;
    private const int EosIdField = 42;
    private const int PadIdField = 43;
    private const int UnkPieceField = 45;
    private const int BosPieceField = 46;
    private const int EosPieceField = 47;
    private const int PadPieceField = 48;

    // NormalizerSpec
    private const int NameField = 1;
    private const int AddDummyPrefixField = 3;
    private const int RemoveExtraWhitespacesField = 4;
    private const int EscapeWhitespacesField = 5;

    /// <summary>The serialized <c>ModelProto</c> of <paramref name="model"/>.</summary>
    public static byte[] Serialize(SentencePieceModel model)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            WriteModel(output, model);
        }

        return buffer.ToArray();
    }

    private static void WriteModel(CodedOutputStream output, SentencePieceModel model)
    {
        foreach (var entry in model.Pieces)
        {
            WriteMessage(output, PiecesField, piece =>
            {
                piece.WriteTag(PieceField, WireFormat.WireType.LengthDelimited);
                piece.WriteString(entry.Piece);
                piece.WriteTag(ScoreField, WireFormat.WireType.Fixed32);
                piece.WriteFloat(entry.Score);
                piece.WriteTag(TypeField, WireFormat.WireType.Varint);
                piece.WriteEnum((int)entry.Kind);
            });
        }

        WriteMessage(output, TrainerSpecField, spec =>
        {
            WriteInt32(spec, ModelTypeField, (int)model.Algorithm);
            WriteInt32(spec, VocabSizeField, model.Pieces.Count);
            // The trainers here split words at whitespace only (docs/decisions/llm-tokenizers.md).
            WriteBool(spec, SplitByUnicodeScriptField, false);
            WriteBool(spec, SplitByNumberField, false);
            WriteBool(spec, ByteFallbackField, model.ByteFallback);
            WriteInt32(spec, UnkIdField, model.UnkId);
            WriteInt32(spec, BosIdField, model.BosId);
            WriteInt32(spec, EosIdField, model.EosId);
            WriteInt32(spec, PadIdField, model.PadId);
            WriteString(spec, UnkPieceField, model.UnkPiece);
            WriteString(spec, BosPieceField, model.BosPiece);
            WriteString(spec, EosPieceField, model.EosPiece);
            WriteString(spec, PadPieceField, model.PadPiece);
        });
        WriteMessage(output, NormalizerSpecField, spec =>
        {
            WriteString(spec, NameField, model.NormalizerName);
            WriteBool(spec, AddDummyPrefixField, model.AddDummyPrefix);
            WriteBool(spec, RemoveExtraWhitespacesField, model.RemoveExtraWhitespaces);
            WriteBool(spec, EscapeWhitespacesField, model.EscapeWhitespaces);
        });
    }

    /// <summary>
    /// The model in <paramref name="bytes"/>; absent fields take the proto's defaults (unk 0, bos 1, eos 2, pad −1,
    /// Unigram, the three normalizer switches on).
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not a serialized <c>ModelProto</c>.</exception>
    public static SentencePieceModel Parse(byte[] bytes)
    {
        var pieces = new List<SentencePieceEntry>();
        var model = new SentencePieceModel([], SentencePieceAlgorithm.Unigram, UnkId: 0, BosId: 1, EosId: 2, PadId: -1, NormalizerName: "");
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case PiecesField when IsMessage(tag):
                    pieces.Add(ParsePiece(input.ReadBytes()));
                    break;
                case TrainerSpecField when IsMessage(tag):
                    model = ParseTrainerSpec(input.ReadBytes(), model);
                    break;
                case NormalizerSpecField when IsMessage(tag):
                    model = ParseNormalizerSpec(input.ReadBytes(), model);
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return model with { Pieces = pieces };
    }

    /// <summary>
    /// <paramref name="bytes"/> with a second <c>trainer_spec</c> appended that sets <c>bos_id</c>/<c>bos_piece</c> and
    /// <c>eos_id</c>/<c>eos_piece</c> where given; protobuf merges a repeated message field, so these override the first.
    /// </summary>
    public static byte[] WithSpecialPieces(byte[] bytes, (int Id, string Piece)? bos, (int Id, string Piece)? eos)
    {
        using var buffer = new MemoryStream();
        buffer.Write(bytes);
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            WriteMessage(output, TrainerSpecField, spec =>
            {
                if (bos is { } newBos)
                {
                    WriteInt32(spec, BosIdField, newBos.Id);
                    WriteString(spec, BosPieceField, newBos.Piece);
                }

                if (eos is { } newEos)
                {
                    WriteInt32(spec, EosIdField, newEos.Id);
                    WriteString(spec, EosPieceField, newEos.Piece);
                }
            });
        }

        return buffer.ToArray();
    }

    private static SentencePieceEntry ParsePiece(ByteString bytes)
    {
        var (piece, score, kind) = ("", 0f, SentencePieceKind.Normal);
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case PieceField when IsMessage(tag):
                    piece = input.ReadString();
                    break;
                case ScoreField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed32:
                    score = input.ReadFloat();
                    break;
                case TypeField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                    kind = (SentencePieceKind)input.ReadEnum();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new SentencePieceEntry(piece, score, kind);
    }

    private static SentencePieceModel ParseTrainerSpec(ByteString bytes, SentencePieceModel model)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            model = (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag)) switch
            {
                (ModelTypeField, WireFormat.WireType.Varint) => model with { Algorithm = (SentencePieceAlgorithm)input.ReadEnum() },
                (ByteFallbackField, WireFormat.WireType.Varint) => model with { ByteFallback = input.ReadBool() },
                (UnkIdField, WireFormat.WireType.Varint) => model with { UnkId = input.ReadInt32() },
                (BosIdField, WireFormat.WireType.Varint) => model with { BosId = input.ReadInt32() },
                (EosIdField, WireFormat.WireType.Varint) => model with { EosId = input.ReadInt32() },
                (PadIdField, WireFormat.WireType.Varint) => model with { PadId = input.ReadInt32() },
                (UnkPieceField, WireFormat.WireType.LengthDelimited) => model with { UnkPiece = input.ReadString() },
                (BosPieceField, WireFormat.WireType.LengthDelimited) => model with { BosPiece = input.ReadString() },
                (EosPieceField, WireFormat.WireType.LengthDelimited) => model with { EosPiece = input.ReadString() },
                (PadPieceField, WireFormat.WireType.LengthDelimited) => model with { PadPiece = input.ReadString() },
                _ => Skip(input, model),
            };
        }

        return model;
    }

    private static SentencePieceModel ParseNormalizerSpec(ByteString bytes, SentencePieceModel model)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            model = (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag)) switch
            {
                (NameField, WireFormat.WireType.LengthDelimited) => model with { NormalizerName = input.ReadString() },
                (AddDummyPrefixField, WireFormat.WireType.Varint) => model with { AddDummyPrefix = input.ReadBool() },
                (RemoveExtraWhitespacesField, WireFormat.WireType.Varint) => model with { RemoveExtraWhitespaces = input.ReadBool() },
                (EscapeWhitespacesField, WireFormat.WireType.Varint) => model with { EscapeWhitespaces = input.ReadBool() },
                _ => Skip(input, model),
            };
        }

        return model;
    }

    private static SentencePieceModel Skip(CodedInputStream input, SentencePieceModel model)
    {
        input.SkipLastField();
        return model;
    }

    private static bool IsMessage(uint tag) => WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;

    private static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var message = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(message);
        }

        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(buffer.ToArray()));
    }

    private static void WriteInt32(CodedOutputStream output, int field, int value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(value);
    }

    private static void WriteBool(CodedOutputStream output, int field, bool value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteBool(value);
    }

    private static void WriteString(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }
}
