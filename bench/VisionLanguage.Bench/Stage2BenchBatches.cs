using System.Runtime.CompilerServices;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// Stage 2's batches for the bench, made once and handed out as often as asked: random frozen-encoder features
/// (B, S, V) in place of the encoder's output, and captions of <see cref="Blip2Stage2BenchShape.TextLength"/> random
/// word ids, BOS first and no padding, labelled with themselves but for BOS (−100), as stage 2 labels a caption without
/// a prompt. Each batch handed out is a set of new handles on the same tensors, which its receiver disposes.
/// </summary>
internal sealed class Stage2BenchBatches : IBatchSource<Blip2Stage2Batch>, IDisposable
{
    private readonly Tensor[] _features;                    // each (B, S, V)
    private readonly Tensor[] _ids;                         // each (B, T)
    private readonly Tensor[] _labels;                      // each (B, T)
    private readonly Tensor _mask;                          // (B, T), all ones

    public Stage2BenchBatches(Blip2Stage2BenchShape shape, int batches, int batchSize, ulong seed)
    {
        using var generator = new Generator(seed);
        var length = Blip2Stage2BenchShape.TextLength;
        _features = [.. Enumerable.Range(0, batches).Select(_ => randn([batchSize, shape.Vision.Tokens, shape.Vision.Width], generator: generator))];
        _ids = new Tensor[batches];
        _labels = new Tensor[batches];
        for (var batch = 0; batch < batches; batch++)
        {
            using var scope = NewDisposeScope();
            var words = randint(Blip2Stage2BenchShape.FirstWordId, shape.Opt.VocabSize, [batchSize, length - 1], dtype: ScalarType.Int64, generator: generator);
            _ids[batch] = cat([full(batchSize, 1, shape.Opt.BosTokenId, dtype: ScalarType.Int64), words], 1).MoveToOuterDisposeScope();
            _labels[batch] = cat([full(batchSize, 1, -100L, dtype: ScalarType.Int64), words], 1).MoveToOuterDisposeScope();
        }

        _mask = ones(batchSize, length, dtype: ScalarType.Int64);
        BatchSize = batchSize;
    }

    public int BatchSize { get; }

    public long BatchesPerEpoch => _features.Length;

    public async IAsyncEnumerable<Blip2Stage2Batch> ReadEpochAsync(int epoch, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var index = start; index < _features.Length; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new Blip2Stage2Batch(_features[index].alias(), _ids[index].alias(), _mask.alias(), _labels[index].alias());
        }

        await Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var tensor in _features.Concat(_ids).Concat(_labels).Append(_mask))
        {
            tensor.Dispose();
        }
    }
}
