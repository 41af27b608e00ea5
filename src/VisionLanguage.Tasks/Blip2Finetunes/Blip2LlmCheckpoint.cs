using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// A BLIP-2 checkpoint through a frozen LLM as a finetune reads its <c>init</c>: a <c>blip2.stage2</c> output or a
/// finetune's (<see cref="Blip2LlmFinetuneModel"/>), with the Q-Former's and the LLM's shape, the record of the image
/// encoder stage 1 read and how (<see cref="Blip2ImageEncoderInput.FileName"/>), and the artifacts stage 2 was built from
/// (<see cref="Blip2Stage2Task.SourcesFile"/>: the stage-1 Q-Former, the encoder, the LLM), which every finetune carries
/// forward so that its own output names them too.
/// </summary>
public sealed record Blip2LlmCheckpoint(
    string Source, QFormerConfig Qformer, string Llm, long LlmWidth, string WeightsPath, Blip2EncoderRecord Encoder, JsonObject Sources, string Directory)
{
    /// <summary>Reads the checkpoint of input <paramref name="role"/> (<c>init</c> of a finetune, <c>checkpoint</c> of <c>evaluate</c>).</summary>
    public static Blip2LlmCheckpoint Read(InputFolder input, string role = "init")
    {
        var source = $"input {role} ({input.Name})";
        const string Fix = "bind a blip2.stage2 output (or a BLIP-2 finetune's)";
        var state = CheckpointFiles.ReadState(input.Directory, [Blip2Stage2Model.Format, Blip2LlmFinetuneModel.Format]);
        var model = state.Model["model"] ?? throw new InvalidDataException($"{source} does not describe its model; {Fix}");
        var finetuned = state.Format == Blip2LlmFinetuneModel.Format ? model.Deserialize<Blip2LlmFinetuneConfig>(BlipCheckpointDescription.Json) : null;
        var config = state.Format == Blip2Stage2Model.Format
            ? model.Deserialize<Blip2Stage2Config>(BlipCheckpointDescription.Json) is { } stage2 ? (stage2.Qformer, stage2.Llm, stage2.LlmWidth) : default
            : finetuned is not null ? (finetuned.Qformer, finetuned.Llm, finetuned.LlmWidth) : default;
        if (config.Qformer is null)
        {
            throw new InvalidDataException($"{source} does not describe its model; {Fix}");
        }

        var sourcesPath = Path.Combine(input.Directory, Blip2Stage2Task.SourcesFile);
        if (!File.Exists(sourcesPath))
        {
            throw new InvalidDataException($"{source} has no {Blip2Stage2Task.SourcesFile} naming the LLM and the stage-1 Q-Former it was built from; {Fix}");
        }

        return new Blip2LlmCheckpoint(
            source,
            config.Qformer,
            config.Llm,
            config.LlmWidth,
            Path.Combine(input.Directory, CheckpointFiles.Weights),
            Blip2EncoderRecord.Read(input, source, Fix),
            JsonNode.Parse(File.ReadAllText(sourcesPath))!.AsObject(),
            input.Directory)
        {
            Finetuned = finetuned,
        };
    }

    /// <summary>A finetune's whole shape (its trained encoder's included), or null for a <c>blip2.stage2</c> output, whose encoder is frozen and apart.</summary>
    public Blip2LlmFinetuneConfig? Finetuned { get; init; }

    /// <summary>The content digest of the source artifact in role <paramref name="role"/> (qformer, image_encoder, llm), when recorded.</summary>
    public string? SourceDigest(string role) => Sources[role]?["content_digest"]?.GetValue<string>();

    /// <summary>The name of the source artifact in role <paramref name="role"/>.</summary>
    public string SourceName(string role) => Sources[role]?["artifact"]?.GetValue<string>() ?? "?";

    /// <summary>
    /// Refuses <paramref name="input"/> as the artifact of <paramref name="role"/> (llm, qformer) when both it and the record
    /// have content digests and they differ: the Q-Former's weights mean nothing against another LLM or text side.
    /// </summary>
    public void CheckSource(string role, InputFolder input)
    {
        var recorded = SourceDigest(role);
        if (recorded is not null && input.ContentDigest is not null && recorded != input.ContentDigest)
        {
            throw new ArgumentException(
                $"input {role} is {input.Name} ({input.ContentDigest}), but {Source} was built from {SourceName(role)} ({recorded}); bind {role} to the artifact it records");
        }
    }

    /// <summary>The finetune's shape: the Q-Former <paramref name="qformer"/>, this LLM, and the encoder of <paramref name="encoderInput"/> (see <see cref="Blip2FinetuneInputs.Encoder"/>).</summary>
    public Blip2LlmFinetuneConfig FinetuneConfig(QFormerConfig qformer, InputFolder encoderInput, int imageSize, out string encoderWeights)
    {
        var (family, vision, weights) = Blip2FinetuneInputs.Encoder(Source, Encoder, encoderInput, imageSize);
        encoderWeights = weights;
        return new Blip2LlmFinetuneConfig(qformer, Llm, LlmWidth, family, vision, Encoder.BlocksUsed);
    }

    /// <summary>Writes the records this checkpoint carries (its sources and its encoder's) into <paramref name="output"/>.</summary>
    public void CarryRecords(string output)
    {
        File.Copy(Path.Combine(Directory, Blip2Stage2Task.SourcesFile), Path.Combine(output, Blip2Stage2Task.SourcesFile), overwrite: true);
        File.Copy(Path.Combine(Directory, Blip2ImageEncoderInput.FileName), Path.Combine(output, Blip2ImageEncoderInput.FileName), overwrite: true);
    }
}

/// <summary>What a BLIP-2 checkpoint records of the image encoder stage 1 read (<see cref="Blip2ImageEncoderInput.FileName"/>).</summary>
public sealed record Blip2EncoderRecord(string? Digest, string Name, VitConfig Vision, int BlocksUsed)
{
    public static Blip2EncoderRecord Read(InputFolder input, string source, string fix)
    {
        var path = Path.Combine(input.Directory, Blip2ImageEncoderInput.FileName);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{source} has no {Blip2ImageEncoderInput.FileName} saying which image encoder it reads and how; {fix}");
        }

        var record = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        return new Blip2EncoderRecord(
            record["content_digest"]?.GetValue<string>(),
            record["artifact"]?.GetValue<string>() ?? "?",
            record["vision"].Deserialize<VitConfig>(BlipCheckpointDescription.Json) ?? throw new InvalidDataException($"{path} lacks the encoder's shape"),
            record["blocks_used"]!.GetValue<int>());
    }

    /// <summary>
    /// The frozen encoder of <paramref name="input"/> read after as many blocks as recorded, at <paramref name="imageSize"/>.
    /// Refuses another encoder than the recorded one when both have content digests (the Q-Former's features mean nothing
    /// against another), and one of another shape; <paramref name="trained"/> says what was trained against it ("the
    /// Q-Former was trained against") and <paramref name="used"/> who used it ("stage 1 used").
    /// </summary>
    public FrozenImageEncoder LoadFrozen(InputFolder input, int imageSize, TorchSharp.torch.Device device, string trained, string used)
    {
        if (Digest is not null && input.ContentDigest is not null && Digest != input.ContentDigest)
        {
            throw new ArgumentException(
                $"input image_encoder is {input.Name} ({input.ContentDigest}), but {trained} {Name} ({Digest}); bind image_encoder to the artifact {used}");
        }

        var encoder = Blip2ImageEncoderInput.Load(input, imageSize, BlocksUsed - Vision.Depth - 1, device);
        if (encoder.Config.Width != Vision.Width || encoder.Config.Depth != Vision.Depth)
        {
            encoder.Dispose();
            throw new ArgumentException(
                $"input image_encoder ({input.Name}) is {encoder.Config.Width} wide and {encoder.Config.Depth} deep, but {trained} one {Vision.Width} wide and {Vision.Depth} deep; bind the encoder {used}");
        }

        return encoder;
    }
}
