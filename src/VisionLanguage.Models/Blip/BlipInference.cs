using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>What retrieval and filtering ask of a BLIP model with ITC and ITM (pretraining, retrieval): features and match scores.</summary>
public interface IBlipImageText
{
    BlipModelConfig Config { get; }

    /// <summary>Whether dropout is on.</summary>
    bool IsTraining { get; }

    /// <summary>Training mode (dropout on) or evaluation mode.</summary>
    void SetTraining(bool training);

    /// <summary>Image tokens (B, 1 + P, Dv) and the normalised ITC image feature (B, E).</summary>
    (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images);

    /// <summary>The unimodal text encoder's normalised ITC feature (B, E) of captions [CLS] … [SEP].</summary>
    Tensor EncodeText(Tensor textIds, Tensor textMask);

    /// <summary>ITM logit of "match" (B) for captions against image tokens.</summary>
    Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds);

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
