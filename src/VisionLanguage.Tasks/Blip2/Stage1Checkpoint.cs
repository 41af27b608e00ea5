using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// A stage-1 checkpoint as stage 2 reads it: the Q-Former's shape (made queries-only, as LAVIS trims it), its weights,
/// and the record of the frozen encoder it was trained against (<see cref="Blip2ImageEncoderInput.FileName"/>), which
/// stage 2 must read the same way.
/// </summary>
public sealed record Stage1Checkpoint(QFormerConfig Qformer, string WeightsPath, string? EncoderDigest, string EncoderName, VitConfig EncoderVision, int BlocksUsed)
{
    public static Stage1Checkpoint Read(InputFolder input)
    {
        var source = $"input qformer ({input.Name})";
        var state = CheckpointFiles.ReadState(input.Directory, [Blip2Stage1Model.Format]);
        var config = state.Model["model"].Deserialize<Blip2Stage1Config>(BlipCheckpointDescription.Json)
            ?? throw new InvalidDataException($"{source} does not describe its Q-Former; bind a blip2.stage1 output");
        var recordPath = Path.Combine(input.Directory, Blip2ImageEncoderInput.FileName);
        if (!File.Exists(recordPath))
        {
            throw new InvalidDataException($"{source} has no {Blip2ImageEncoderInput.FileName} saying which image encoder it was trained against; bind a blip2.stage1 output");
        }

        var record = JsonNode.Parse(File.ReadAllText(recordPath))!.AsObject();
        return new Stage1Checkpoint(
            config.Qformer with { QueriesOnly = true },
            Path.Combine(input.Directory, CheckpointFiles.Weights),
            record["content_digest"]?.GetValue<string>(),
            record["artifact"]?.GetValue<string>() ?? "?",
            record["vision"].Deserialize<VitConfig>(BlipCheckpointDescription.Json) ?? throw new InvalidDataException($"{recordPath} lacks the encoder's shape"),
            record["blocks_used"]!.GetValue<int>());
    }

    /// <summary>
    /// The frozen encoder of <paramref name="input"/>, read after as many blocks as stage 1 read. Refuses another encoder
    /// than stage 1's when both have content digests (the Q-Former's features mean nothing against another).
    /// </summary>
    public FrozenImageEncoder LoadEncoder(InputFolder input, int imageSize, Device device) =>
        new Blip2Finetunes.Blip2EncoderRecord(EncoderDigest, EncoderName, EncoderVision, BlocksUsed).LoadFrozen(input, imageSize, device, "the Q-Former was trained against", "stage 1 used");
}
