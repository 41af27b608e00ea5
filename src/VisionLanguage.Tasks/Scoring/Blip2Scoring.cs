using System.Text.Json;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Layers;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Blip2Finetunes;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Llm;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Tasks.Vqa;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Scoring;

/// <summary>
/// <c>evaluate</c> on BLIP-2 checkpoints, with the evaluation their own stage ran at its end:
/// retrieval of a stage-1 Q-Former (over the frozen encoder of input <c>image_encoder</c>, the one it records) or of a
/// retrieval finetune (its trained encoder is in the checkpoint); captions of a stage-2 model (frozen encoder and the
/// frozen LLM of input <c>llm</c>, both checked against its records) or of a caption finetune (its encoder in the
/// checkpoint, the LLM an input); VQA answers of a VQA finetune. The LLM stages' prompt, end token, longest text, LLM
/// dtype and search are the stage's own, recorded in its checkpoint (<see cref="Blip2LlmEvaluation"/>), so a model is
/// scored as its stage scored it; the image size is the checkpoint's. A finetune's checkpoint holds its trained encoder,
/// so its <c>image_encoder</c>, when bound, is not fetched.
/// </summary>
internal sealed class Blip2Scoring(EvaluateSettings settings, TaskRun run, InputFolder checkpoint, Device device, CancellationToken cancellationToken)
{
    private const int SampleCaptions = 5;

    private string Source => $"input checkpoint ({checkpoint.Name})";

    /// <summary>Whether <paramref name="format"/> (a checkpoint's <c>trainer_state.json</c> format) is a BLIP-2 model's.</summary>
    public static bool Reads(string format) =>
        format is Blip2Stage1Model.Format or Blip2RetrievalModel.Format or Blip2Stage2Model.Format or Blip2LlmFinetuneModel.Format;

    public async Task<Dictionary<string, double>> RetrievalAsync(IReadOnlyList<InputFolder> datasets)
    {
        const string Fix = "bind a blip2.stage1 or blip2.finetune.retrieval output";
        var state = CheckpointFiles.ReadState(checkpoint.Directory, [Blip2Stage1Model.Format, Blip2RetrievalModel.Format]);
        var tokens = state.Model["tokens"].Deserialize<BlipSpecialTokens>(BlipCheckpointDescription.Json)
            ?? throw new InvalidDataException($"{Source} does not record its special tokens; {Fix}");
        var tokenizer = Vocabulary(Fix);
        using var dataset = BlipDataset.Open([.. datasets.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
        if (state.Format == Blip2Stage1Model.Format)
        {
            var config = state.Model["model"].Deserialize<Blip2Stage1Config>(BlipCheckpointDescription.Json) ?? throw new InvalidDataException($"{Source} does not describe its Q-Former; {Fix}");
            CheckVocabulary(tokenizer, config.Qformer.VocabSize, Fix);
            var record = Blip2EncoderRecord.Read(checkpoint, Source, Fix);
            var encoderInput = await RequiredAsync("image_encoder", "the frozen image encoder the stage-1 Q-Former was trained against");
            using var encoder = record.LoadFrozen(encoderInput, record.Vision.ImageSize, device, "the Q-Former was trained against", "stage 1 used");
            using var model = BlipCheckpointFolder.LoadWeights<Blip2Stage1Model, Blip2Stage1Batch>(new Blip2Stage1Model(config, tokens, seed: 0, device), checkpoint.Directory);
            return EvaluateTask.ScoreRetrieval(run, checkpoint, new Blip2Retrieval(model, encoder.Encode), tokenizer, record.Vision.ImageSize, dataset, settings, cancellationToken);
        }

        var retrieval = state.Model["model"].Deserialize<Blip2RetrievalConfig>(BlipCheckpointDescription.Json) ?? throw new InvalidDataException($"{Source} does not describe its Q-Former; {Fix}");
        CheckVocabulary(tokenizer, retrieval.Stage1.Qformer.VocabSize, Fix);
        using var finetuned = BlipCheckpointFolder.LoadWeights<Blip2RetrievalModel, BlipPretrainBatch>(new Blip2RetrievalModel(retrieval, tokens, seed: 0, device), checkpoint.Directory);
        return EvaluateTask.ScoreRetrieval(
            run, checkpoint, new Blip2Retrieval(finetuned.Stage1, finetuned.EncodeImages), tokenizer, retrieval.Vision.ImageSize, dataset, settings, cancellationToken);
    }

    public async Task<Dictionary<string, double>> CaptionAsync(IReadOnlyList<InputFolder> datasets, string report)
    {
        var (init, evaluation, llmInput, tokenizer) = await ReadLlmCheckpointAsync(Blip2LlmEvaluation.Caption, "caption", "bind a blip2.stage2 or blip2.finetune.caption output");
        using var dataset = BlipDataset.Open([.. datasets.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
        var pulse = TaskPulse.Of(run, cancellationToken);
        CaptionEvaluationResult result;
        if (init.Finetuned is { } config)
        {
            using var model = LoadFinetuned(config, LlmInput.Load(llmInput, FrozenPrecision.For(device, evaluation.LlmDtype), device, exactGelu: true).Llm);
            var texts = new LlmTexts(tokenizer, evaluation.Prompt, evaluation.EndToken, prefixLm: false, evaluation.MaxTextLength);
            var captioner = new Blip2FinetuneCaptioner(model, texts, evaluation.Prompt, evaluation.Decoding);
            result = CaptionEvaluation.Evaluate(captioner, dataset, config.Vision.ImageSize, settings.BatchSize, null, SampleCaptions, pulse);
        }
        else
        {
            var encoderInput = await RequiredAsync("image_encoder", "the frozen image encoder the stage-2 model reads");
            using var encoder = init.Encoder.LoadFrozen(encoderInput, init.Encoder.Vision.ImageSize, device, "its Q-Former was trained against", "its stage read");
            var (llm, _) = LlmInput.Load(llmInput, FrozenPrecision.For(device, evaluation.LlmDtype), device, exactGelu: true);
            Blip2Stage2Model model;
            try
            {
                model = new Blip2Stage2Model(new Blip2Stage2Config(init.Qformer, init.Llm, init.LlmWidth), llm, seed: 0, device);
            }
            catch
            {
                llm.Dispose();
                throw;
            }

            using var loaded = BlipCheckpointFolder.LoadWeights<Blip2Stage2Model, Blip2Stage2Batch>(model, checkpoint.Directory);
            // Stage 2's texts learn after its training prompt; generation reads only the end token and the longest text.
            var texts = new LlmTexts(tokenizer, "", evaluation.EndToken, prefixLm: false, evaluation.MaxTextLength);
            var captioner = new Blip2LlmCaptioner(loaded, encoder, texts, evaluation.Prompt, evaluation.Decoding);
            result = CaptionEvaluation.Evaluate(captioner, dataset, init.Encoder.Vision.ImageSize, settings.BatchSize, null, SampleCaptions, pulse);
        }

        CaptionerCheckpoint.WriteSamples(report, result.Samples);
        run.Logger.LogInformation(
            "Captions of {Checkpoint} (BLIP-2, \"{Prompt}\") for {Images} images: BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}",
            checkpoint.Name, evaluation.Prompt, result.Images, result.Bleu4, result.CiderD);
        return new Dictionary<string, double>(result.Metrics());
    }

    public async Task<Dictionary<string, double>> VqaAsync(IReadOnlyList<InputFolder> datasets)
    {
        const string Fix = "bind a blip2.finetune.vqa output";
        var (init, evaluation, llmInput, tokenizer) = await ReadLlmCheckpointAsync(Blip2LlmEvaluation.Vqa, "vqa", Fix);
        if (init.Finetuned is not { } config)
        {
            throw new ArgumentException($"{Source} is a stage-2 model, which evaluate scores on task caption; {Fix}");
        }

        var questions = Vocabulary(Fix);
        using var dataset = VqaDataset.Open(BlipVqaTask.Sources(datasets, "dataset"), settings.BadData);
        using var model = LoadFinetuned(config, LlmInput.Load(llmInput, FrozenPrecision.For(device, evaluation.LlmDtype), device, exactGelu: true).Llm);
        var examples = new VqaLlmExamples(tokenizer, evaluation.Prompt, evaluation.EndToken, evaluation.MaxTextLength);
        var result = Blip2VqaFinetuneTask.Score(
            model, examples, questions, evaluation.MaxQuestionLength ?? throw new InvalidDataException($"{Source}: {Blip2LlmEvaluation.FileName} lacks max_question_length; {Fix}"), evaluation.Decoding, dataset,
            config.Vision.ImageSize, settings.BatchSize, TaskPulse.Of(run, cancellationToken));
        run.Logger.LogInformation("VQA of {Checkpoint} (BLIP-2, \"{Prompt}\") on {Questions} questions: accuracy {Accuracy:P1}", checkpoint.Name, evaluation.Prompt, result.Questions, result.Accuracy);
        return new Dictionary<string, double>(result.Metrics());
    }

    /// <summary>
    /// The checkpoint through an LLM (a stage-2 output or an LLM finetune's), how its stage evaluated, and the LLM of input
    /// <c>llm</c> checked against its record; refuses a checkpoint whose stage evaluated another task than <paramref name="task"/>.
    /// </summary>
    private async Task<(Blip2LlmCheckpoint Init, Blip2LlmEvaluation Evaluation, InputFolder Llm, Data.Tokenizers.LlmTokenizer Tokenizer)> ReadLlmCheckpointAsync(
        string recorded, string task, string fix)
    {
        var init = Blip2LlmCheckpoint.Read(checkpoint, "checkpoint");
        var evaluation = Blip2LlmEvaluation.Read(checkpoint.Directory, Source);
        if (evaluation.Task != recorded)
        {
            throw new ArgumentException($"{Source} was evaluated by its stage on task {evaluation.Task}, not {task}; set task to {evaluation.Task}, or {fix}");
        }

        var llmInput = await RequiredAsync("llm", "the frozen LLM the checkpoint records");
        init.CheckSource("llm", llmInput);
        var (_, tokenizer) = LlmInput.Tokenizer(llmInput);
        return (init, evaluation, llmInput, tokenizer);
    }

    private Blip2LlmFinetuneModel LoadFinetuned(Blip2LlmFinetuneConfig config, Models.Llm.ISoftPromptedLlm llm)
    {
        Blip2LlmFinetuneModel model;
        try
        {
            model = new Blip2LlmFinetuneModel(config, llm, seed: 0, device);
        }
        catch
        {
            llm.Dispose();
            throw;
        }

        return BlipCheckpointFolder.LoadWeights<Blip2LlmFinetuneModel, Blip2LlmFinetuneBatch>(model, checkpoint.Directory);
    }

    private BlipTokenizer Vocabulary(string fix)
    {
        var path = Path.Combine(checkpoint.Directory, BlipVocabulary.FileName);
        return File.Exists(path)
            ? BlipTokenizer.FromVocabFile(path)
            : throw new InvalidDataException($"{Source} has no {BlipVocabulary.FileName}, so its token ids cannot be read; {fix}");
    }

    private void CheckVocabulary(BlipTokenizer tokenizer, long rows, string fix)
    {
        if (tokenizer.VocabSize != rows)
        {
            throw new InvalidDataException(
                $"{Source}: {BlipVocabulary.FileName} has {tokenizer.VocabSize} tokens but the Q-Former's word embedding has {rows} rows; the checkpoint is inconsistent, {fix}");
        }
    }

    private async Task<InputFolder> RequiredAsync(string input, string what) =>
        (await run.Inputs.FetchAsync(input, cancellationToken)).SingleOrDefault()
        ?? throw new InvalidOperationException($"evaluate of {Source} needs input {input}, {what}: the checkpoint references it by digest; bind {input} to it");
}
