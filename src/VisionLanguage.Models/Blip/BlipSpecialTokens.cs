namespace VisionLanguage.Models.Blip;

/// <summary>
/// The tokenizer's special-token ids the model needs (BLIP's BERT vocabulary plus [ENC] and [DEC]). The data side's
/// tokenizer supplies them; the model depends on these ids only, never on the tokenizer.
/// </summary>
/// <param name="PadId">[PAD]: padding after [SEP]; the word embedding's padding index.</param>
/// <param name="ClsId">[CLS]: first token of every caption; its output is the unimodal text feature (ITC).</param>
/// <param name="SepId">[SEP]: ends a caption; the LM learns to emit it.</param>
/// <param name="EncId">[ENC]: replaces [CLS] for the image-grounded encoder (ITM).</param>
/// <param name="DecId">[DEC]: replaces [CLS] for the image-grounded decoder (LM), as beginning of sequence.</param>
/// <param name="MaskId">[MASK]: unused by pretraining; kept so downstream stages share one record.</param>
/// <param name="UnkId">[UNK]: unused by the model itself.</param>
public sealed record BlipSpecialTokens(long PadId, long ClsId, long SepId, long EncId, long DecId, long MaskId, long UnkId)
{
    /// <summary>Every special id, in the record's order.</summary>
    public IReadOnlyList<long> All => [PadId, ClsId, SepId, EncId, DecId, MaskId, UnkId];

    /// <summary>bert-base-uncased ids with LAVIS's additions: [DEC] = 30522 (bos), [ENC] = 30523; vocabulary 30524.</summary>
    public static BlipSpecialTokens BertBaseUncased { get; } = new(
        PadId: 0, ClsId: 101, SepId: 102, EncId: 30523, DecId: 30522, MaskId: 103, UnkId: 100);
}
