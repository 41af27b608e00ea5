using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// What retrieval evaluation asks of an image-text model (BLIP's retrieval model, BLIP-2's Q-Former): unimodal features
/// to rank by, and an ITM score to re-rank the best candidates with.
/// </summary>
public interface IImageTextRetrieval
{
    /// <summary>Whether dropout is on.</summary>
    bool IsTraining { get; }

    /// <summary>Training mode (dropout on) or evaluation mode.</summary>
    void SetTraining(bool training);

    /// <summary>
    /// Image tokens for ITM (B, S, Dv) and the normalised ITC image feature: one vector (B, E), or one per query (B, Q, E),
    /// of which the best matching counts.
    /// </summary>
    (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images);

    /// <summary>The normalised ITC text feature (B, E) of captions [CLS] … [SEP].</summary>
    Tensor EncodeText(Tensor textIds, Tensor textMask);

    /// <summary>The ITM "match" score (B) of captions against image tokens, the re-ranking score.</summary>
    Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds);
}

/// <summary>What retrieval and filtering ask of a BLIP model with ITC and ITM (pretraining, retrieval): features and match scores.</summary>
public interface IBlipImageText : IImageTextRetrieval
{
    BlipModelConfig Config { get; }

    /// <summary>ITM match probability (B) for captions against image tokens.</summary>
    Tensor MatchProbability(Tensor textIds, Tensor textMask, Tensor imageEmbeds);
}

/// <summary>What caption generation asks of a BLIP model with the image-grounded decoder (pretraining, captioning).</summary>
public interface IBlipCaptioning
{
    BlipModelConfig Config { get; }

    /// <summary>Whether dropout is on.</summary>
    bool IsTraining { get; }

    /// <summary>Training mode (dropout on) or evaluation mode.</summary>
    void SetTraining(bool training);

    /// <summary>Image tokens (B, 1 + P, Dv) the decoder attends to.</summary>
    Tensor ImageEmbeddings(Tensor images);

    /// <summary>The image-grounded decoder, for step-by-step decoding.</summary>
    BertLMHeadModel TextDecoder { get; }

    /// <summary>Image-grounded decoder logits (B, L, V) for ids whose first token is replaced by [DEC].</summary>
    Tensor DecoderLogits(Tensor textIds, Tensor textMask, Tensor imageEmbeds);
}
