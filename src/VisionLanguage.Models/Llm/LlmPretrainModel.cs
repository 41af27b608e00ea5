using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>A batch of texts for a language model alone: see <see cref="ISoftPromptedLlm.Loss"/> for each architecture's layout.</summary>
/// <param name="InputIds">The decoder-only model's texts, or the encoder-decoder's prefixes (B, T).</param>
/// <param name="InputMask">1 on tokens, 0 on padding (B, T).</param>
/// <param name="Labels">Targets, −100 where nothing is learned.</param>
public sealed record LlmTextBatch(Tensor InputIds, Tensor InputMask, Tensor Labels) : IDisposable, IDeviceBatch<LlmTextBatch>
{
    public LlmTextBatch To(Device device) =>
        TensorPlacement.IsOn(InputIds, device) && TensorPlacement.IsOn(InputMask, device) && TensorPlacement.IsOn(Labels, device)
            ? this
             : new LlmTextBatch(InputIds.to(device), InputMask.to(device), Labels.to(device));

    public void Dispose()
    {
        InputIds.Dispose();
        InputMask.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// <c>llm.pretrain</c>'s model: an OPT- or T5-architecture LLM trained from scratch on text, with no soft prompt, by its
/// own language-modelling loss. Its checkpoint names are HF's (<c>model.decoder.*</c>, <c>shared</c>, <c>encoder.*</c>, …),
/// so the committed weights are what <c>model.import</c> writes for an imported LLM.
/// </summary>
public sealed class LlmPretrainModel(ISoftPromptedLlm llm, long seed) : ITrainableModel<LlmTextBatch>
{
    public const string Format = "llm.pretrain.checkpoint/1";

    private readonly Generator _randomness = new(unchecked((ulong)seed));

    public ISoftPromptedLlm Llm => llm;

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    /// <summary>Kept for the checkpoint's sake: the LLMs here have no dropout and draw nothing.</summary>
    public Generator Randomness => _randomness;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Layers.TrainableParameters.Distinct(llm.Module);

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(LlmTextBatch batch, TrainingStep step) => new LlmPretrainOutput(llm.Loss(null, batch.InputIds, batch.InputMask, batch.Labels));

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double>();

    public JsonObject Describe() => new() { ["architecture"] = llm.Architecture };

    public void SaveWeights(string path) => BlipWeights.Save(llm.Module, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(llm.Module, 0, path, loading);

    public void SetTraining(bool training) => llm.Module.train(training);

    public void Dispose()
    {
        _randomness.Dispose();
        llm.Dispose();
    }

    private sealed record LlmPretrainOutput(Tensor Loss) : ITrainingOutput
    {
        public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("lm", Loss)];

        public IReadOnlyList<Tensor> GatheredAfterBackward => [];
    }
}
