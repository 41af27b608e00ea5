using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// Stage 2 with its LLM trained too (full fine-tuning), for the bench only: the stage-2 model as built, but every LLM
/// parameter requires a gradient again and is among the trainable parameters (under LAVIS's name for the LLM,
/// <c>opt_model.</c> or <c>t5_model.</c>), so the generic trainer computes its gradients, clips them with the rest and
/// keeps AdamW moments for it. What <see cref="Blip2Stage2Model"/> itself does is unchanged: it freezes its LLM, and
/// this undoes that from outside to measure what the freezing saves. Never checkpointed.
/// </summary>
internal sealed class UnfrozenLlmStage2 : ITrainableModel<Blip2Stage2Batch>
{
    private readonly Blip2Stage2Model _model;
    private readonly List<(string Name, Parameter Parameter)> _llmParameters;

    /// <param name="model">The stage-2 model, which this takes and disposes.</param>
    public UnfrozenLlmStage2(Blip2Stage2Model model)
    {
        _model = model;
        var prefix = $"{model.Llm.Architecture}_model.";
        var seen = new HashSet<IntPtr>();
        // A tied LM head is the word embeddings' tensor: counted and optimised once.
        _llmParameters = [.. model.Llm.Module.named_parameters().Where(entry => seen.Add(entry.parameter.Handle)).Select(entry => (prefix + entry.name, entry.parameter))];
        foreach (var (_, parameter) in _llmParameters)
        {
            parameter.requires_grad = true;
        }
    }

    public string CheckpointFormat => "blip2.stage2.unfrozen-llm.bench";

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _model.Randomness;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => _model.TrainableParameters().Concat(_llmParameters);

    public void CheckGlobalBatch(int batchPerReplica, int replicas) => _model.CheckGlobalBatch(batchPerReplica, replicas);

    public void BeforeStep(TrainingStep step) => _model.BeforeStep(step);

    public ITrainingOutput Forward(Blip2Stage2Batch batch, TrainingStep step) => _model.Forward(batch, step);

    public void AfterBackward(IReadOnlyList<Tensor> gathered) => _model.AfterBackward(gathered);

    /// <summary>Every parameter trains: the share is 1.</summary>
    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double> { ["trainable_share"] = 1.0 };

    public JsonObject Describe() => _model.Describe();

    public void SaveWeights(string path) => throw new NotSupportedException("the bench's unfrozen-LLM stage 2 is never checkpointed; give the trainer no checkpoint root");

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) =>
        throw new NotSupportedException("the bench's unfrozen-LLM stage 2 loads no weights; it starts from the stage-2 model's");

    public void SetTraining(bool training) => _model.SetTraining(training);

    public void Dispose() => _model.Dispose();
}
