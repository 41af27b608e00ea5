using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models;

/// <summary>Where the training loop is when it calls a model: steps taken before this one, the epoch, and the steps an epoch holds.</summary>
public sealed record TrainingStep(long Step, int Epoch, long StepsPerEpoch);

/// <summary>
/// What one forward pass gives the training loop (LAVIS <c>base_task.train_step</c>): the total loss and each objective's
/// loss, scalars with autograd history, and the tensors the loop must gather from every replica and hand back after
/// backward (<see cref="ITrainableModel{TBatch}.AfterBackward"/>), e.g. the momentum features a feature queue takes in.
/// </summary>
public interface ITrainingOutput
{
    Tensor Loss { get; }

    /// <summary>The objectives' losses in a fixed order, e.g. (itc, …), (itm, …), (lm, …).</summary>
    IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses { get; }

    /// <summary>Tensors (B, …) to gather across replicas in rank order after backward; empty when the model needs none.</summary>
    IReadOnlyList<Tensor> GatheredAfterBackward { get; }
}

/// <summary>
/// What the generic training loop needs of a model, and all it knows of one: a forward that returns losses, the
/// parameters to optimise, the generator a checkpoint keeps, and hooks for what only some models need (a momentum
/// update before the step, a queue update after backward). The model knows nothing of replicas or collectives: the loop
/// gathers what <see cref="ITrainingOutput.GatheredAfterBackward"/> names.
/// </summary>
public interface ITrainableModel<in TBatch> : IDisposable
{
    /// <summary>Names the model in its checkpoints, e.g. <c>blip.pretrain.checkpoint/1</c>.</summary>
    string CheckpointFormat { get; }

    /// <summary>Formats of older checkpoints this model resumes from, whose tensors are a superset of its own.</summary>
    IReadOnlyList<string> LegacyCheckpointFormats { get; }

    /// <summary>The source of dropout masks and sampled negatives; its state is part of a checkpoint.</summary>
    Generator Randomness { get; }

    /// <summary>The parameters the optimiser updates, under their checkpoint names, each once.</summary>
    IEnumerable<(string Name, Parameter Parameter)> TrainableParameters();

    /// <summary>Throws, naming the fix, when a step of <paramref name="batchPerReplica"/> samples on each of <paramref name="replicas"/> replicas cannot work.</summary>
    void CheckGlobalBatch(int batchPerReplica, int replicas);

    /// <summary>Before the step's micro-batches (a momentum update).</summary>
    void BeforeStep(TrainingStep step);

    ITrainingOutput Forward(TBatch batch, TrainingStep step);

    /// <summary>After each micro-batch's backward, with <see cref="ITrainingOutput.GatheredAfterBackward"/> gathered from every replica.</summary>
    void AfterBackward(IReadOnlyList<Tensor> gathered);

    /// <summary>Metrics of the model to report with the step (a temperature, a ramped weight), after the optimiser step.</summary>
    IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step);

    /// <summary>What a checkpoint records of the model beside its weights (its shapes and special tokens), to rebuild it.</summary>
    JsonObject Describe();

    void SaveWeights(string path);

    /// <summary>Loads weights; strictly (every name and shape) for a resume, leniently to start from another model's weights.</summary>
    WeightsLoadReport LoadWeights(string path, WeightsLoading loading);

    /// <summary>Training mode (dropout on) or evaluation mode.</summary>
    void SetTraining(bool training);
}

/// <summary>How strictly weights must fit a model.</summary>
public enum WeightsLoading
{
    /// <summary>Every name and shape of the model and of the file match: an exact resume.</summary>
    Strict,

    /// <summary>Every name of the model is in the file with its shape; the file may hold more (a checkpoint of older code whose model had more parts).</summary>
    StrictIgnoringExtra,

    /// <summary>Starting from another model's weights: what fits is taken, the rest keeps its values.</summary>
    Lenient,
}
