using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Running;

namespace VisionLanguage.Tasks.Pretraining;

/// <summary>
/// BLIP pretraining (LAVIS <c>blip_pretrain</c> with the image-text pretrain task): ITC with momentum distillation and
/// the feature queues, ITM with hard negatives, and LM, on input <c>train</c>, from scratch or from the weights of input
/// <c>init</c>; resumes exactly from the run's checkpoint; evaluates zero-shot retrieval on input <c>eval</c>. The
/// output checkpoint carries the tokenizer's vocabulary.
/// </summary>
/// <param name="data">Opens the run's datasets.</param>
/// <param name="model">The model's shape and objectives; its vocabulary size and padding id are the tokenizer's.</param>
/// <param name="settings">Training, loading and evaluation.</param>
public sealed class BlipPretrainTask(IBlipBatchSourceFactory data, BlipModelConfig model, BlipImageTextSettings settings)
{
    public const string Kind = "blip.pretrain";

    public Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken) =>
        BlipImageTextTraining.RunAsync(
            run,
            data,
            settings,
            (opened, _) => model with { Text = model.Text with { VocabSize = opened.VocabSize, PadTokenId = opened.Tokens.PadId } },
            (config, tokens, seed, swaps, device) => new BlipPretrainModel(config, tokens, seed, swaps, device),
            cancellationToken);
}
