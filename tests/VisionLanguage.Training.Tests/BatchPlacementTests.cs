using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests;

/// <summary>
/// The loop places each batch on its model's device (LAVIS <c>prepare_sample</c>): the batch is asked for the device of
/// the model's parameters before the forward, and one already there is used as it is, and disposed once.
/// </summary>
public sealed class BatchPlacementTests
{
    [Fact]
    public async Task Each_batch_is_placed_on_the_models_device_before_its_forward()
    {
        var batches = new List<PlacedBatch>();
        using var trainer = new Trainer<LinearModel, PlacedBatch>(_ => new LinearModel(), TrainingFixtures.Settings(epochs: 1));

        await trainer.TrainAsync([new Batches(batches, count: 3)]);

        Assert.Equal(3, batches.Count);
        Assert.All(batches, batch =>
        {
            Assert.Equal([DeviceType.CPU], batch.AskedFor);
            Assert.True(batch.SeenByForward);
            Assert.Equal(1, batch.Disposals);
        });
    }

    private sealed class PlacedBatch(Tensor inputs) : IDisposable, IDeviceBatch<PlacedBatch>
    {
        public Tensor Inputs { get; } = inputs;

        public List<DeviceType> AskedFor { get; } = [];

        public bool SeenByForward { get; set; }

        public int Disposals { get; private set; }

        public PlacedBatch To(Device device)
        {
            AskedFor.Add(device.type);
            return Inputs.device_type == device.type ? this : new PlacedBatch(Inputs.to(device));
        }

        public void Dispose()
        {
            Disposals++;
            Inputs.Dispose();
        }
    }

    private sealed class Batches(List<PlacedBatch> made, int count) : IBatchSource<PlacedBatch>
    {
        public int BatchSize => 2;

        public long BatchesPerEpoch => count;

        public async IAsyncEnumerable<PlacedBatch> ReadEpochAsync(int epoch, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var index = start; index < count; index++)
            {
                await Task.Yield();
                var batch = new PlacedBatch(ones(2, 3, device: CPU));
                made.Add(batch);
                yield return batch;
            }
        }
    }

    private sealed class LinearModel : nn.Module, ITrainableModel<PlacedBatch>
    {
        private readonly Linear _linear = nn.Linear(3, 1);

        public LinearModel()
            : base(nameof(LinearModel)) => RegisterComponents();

        public string CheckpointFormat => "test.linear/1";

        public IReadOnlyList<string> LegacyCheckpointFormats => [];

        public Generator Randomness { get; } = new(1);

        public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => named_parameters();

        public void CheckGlobalBatch(int batchPerReplica, int replicas)
        {
        }

        public void BeforeStep(TrainingStep step)
        {
        }

        public ITrainingOutput Forward(PlacedBatch batch, TrainingStep step)
        {
            batch.SeenByForward = true;
            return new Output(_linear.call(batch.Inputs).square().mean());
        }

        public void AfterBackward(IReadOnlyList<Tensor> gathered)
        {
        }

        public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double>();

        public JsonObject Describe() => [];

        public void SaveWeights(string path) => BlipWeights.Save(this, path);

        public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, 0, path, loading);

        public void SetTraining(bool training) => train(training);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Randomness.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed record Output(Tensor Loss) : ITrainingOutput
    {
        public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("mse", Loss)];

        public IReadOnlyList<Tensor> GatheredAfterBackward => [];
    }
}
