using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// BLIP-2 stage 1 gathers inside its forward (ITC's in-batch negatives, ITM's negatives): the trainer binds those gathers
/// to each replica's collectives, the same way for threads of one process and for the processes of a gang.
/// </summary>
public sealed class InForwardGatherTests
{
    private const int Batch = 2;
    private const int TextLength = 6;
    private static readonly BlipSpecialTokens Tokens = new(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);

    private static Blip2Stage1Config Tiny => new()
    {
        Qformer = new QFormerConfig
        {
            VocabSize = 40, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 64, EncoderWidth = 24,
            CrossAttentionFrequency = 2, QueryTokens = 4, MaxPositionEmbeddings = 16,
        },
        EmbedDim = 16,
    };

    [Fact]
    public async Task Each_rank_of_a_gang_contrasts_its_pairs_with_both_ranks_features()
    {
        using var model0 = new Blip2Stage1Model(Tiny, Tokens, seed: 7);
        using var model1 = new Blip2Stage1Model(Tiny, Tokens, seed: 7);
        Blip2Stage1Model[] models = [model0, model1];
        using var batch0 = NewBatch(seed: 11, imageIds: [0, 1]);
        using var batch1 = NewBatch(seed: 12, imageIds: [2, 3]);
        Blip2Stage1Batch[] batches = [batch0, batch1];

        using var group = new InProcessCollectives(2);
        var itc = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
        {
            models[rank].SetTraining(false); // no dropout: the features below are the forward's own
            models[rank].Gather = new CollectivesBatchGather(group.ForRank(rank));
            using var output = models[rank].forward(batches[rank]).LossItc;
            return output.item<float>();
        })));

        using var imageFeats = cat([model0.ImageFeatures(batch0.ImageFeatures), model0.ImageFeatures(batch1.ImageFeatures)], 0); // (2B, Q, E)
        using var textFeat = cat([model0.TextFeature(batch0.TextIds, batch0.TextMask), model0.TextFeature(batch1.TextIds, batch1.TextMask)], 0); // (2B, E)
        for (var rank = 0; rank < 2; rank++)
        {
            using var mine = imageFeats.narrow(0, rank * Batch, Batch);
            using var myText = textFeat.narrow(0, rank * Batch, Batch);
            var both = Blip2Stage1Model.Contrastive(mine, myText, imageFeats, textFeat, model0.Temperature, rank, Tiny.LabelSmoothing);
            var alone = Blip2Stage1Model.Contrastive(mine, myText, mine, myText, model0.Temperature, 0, Tiny.LabelSmoothing);
            Assert.Equal(Batch * 2, both.SimI2T.shape[1]);
            Assert.Equal(both.Loss.item<float>(), itc[rank], 1e-6);
            Assert.True(Math.Abs(alone.Loss.item<float>() - itc[rank]) > 1e-3, "ITC against this rank's pairs alone gives the same loss");
        }
    }

    [Fact]
    public async Task The_trainer_binds_the_gathers_of_replicas_to_their_collectives_while_training_and_gives_them_back_after()
    {
        var settings = new TrainerSettings { Epochs = 1, LearningRate = 1e-3, CheckpointEverySteps = 100, Seed = 3 };
        using var together = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(_ => new Blip2Stage1Model(Tiny, Tokens, seed: 7), settings, replicas: 2);
        var seen = new List<(Type Gather, int Rank, int WorldSize)>();
        await together.TrainAsync(
            [new Stage1Batches(seed: 20, rank: 0), new Stage1Batches(seed: 20, rank: 1)],
            new TrainingHooks
            {
                StepCompleted = _ =>
                {
                    seen.Add((together.Model.Gather.GetType(), together.Model.Gather.Rank, together.Model.Gather.WorldSize));
                    return Task.CompletedTask;
                },
            });

        Assert.Equal([(typeof(CollectivesBatchGather), 0, 2), (typeof(CollectivesBatchGather), 0, 2)], seen);
        Assert.All(together.Replicas, replica => Assert.Same(SingleProcessGather.Instance, replica.Gather));

        // Alone, a model keeps its single-process gathers, so one-process numbers do not move.
        using var alone = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(_ => new Blip2Stage1Model(Tiny, Tokens, seed: 7), settings);
        var aloneSeen = new List<IBatchGather>();
        await alone.TrainAsync(
            [new Stage1Batches(seed: 20, rank: 0)],
            new TrainingHooks
            {
                StepCompleted = _ =>
                {
                    aloneSeen.Add(alone.Model.Gather);
                    return Task.CompletedTask;
                },
            });
        Assert.All(aloneSeen, gather => Assert.Same(SingleProcessGather.Instance, gather));
    }

    private static Blip2Stage1Batch NewBatch(int seed, long[] imageIds)
    {
        using var generator = new Generator((ulong)seed);
        var image = randn(Batch, 5, Tiny.Qformer.EncoderWidth, generator: generator);
        var text = randint(7, 40, [Batch, TextLength], generator: generator);
        text.select(1, 0).fill_(Tokens.ClsId);
        return new Blip2Stage1Batch(image, text, ones(Batch, TextLength, dtype: int64), imageIds);
    }

    /// <summary>Two batches of random stage-1 pairs per epoch, the same for a seed and rank.</summary>
    private sealed class Stage1Batches(int seed, int rank) : IBatchSource<Blip2Stage1Batch>
    {
        public int BatchSize => Batch;

        public long BatchesPerEpoch => 2;

        public async IAsyncEnumerable<Blip2Stage1Batch> ReadEpochAsync(
            int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var batch = start; batch < BatchesPerEpoch; batch++)
            {
                await Task.Yield();
                var first = (rank * 100) + (batch * Batch);
                yield return NewBatch(seed + (rank * 10) + (int)batch + (epoch * 1000), [first, first + 1]);
            }
        }
    }
}
