using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;

namespace Trainer.Worker.Runners;

/// <summary>
/// The data side of <c>blip.pretrain</c>: opens a run's datasets (input <c>train</c>, and <c>eval</c> when bound),
/// tokenises captions and prepares batches in the background. The data side implements it and registers it.
/// </summary>
public interface IBlipBatchSourceFactory
{
    /// <summary>
    /// Opens the run's data as <paramref name="replicas"/> shards of <c>batch_size / replicas</c> pairs per batch, each
    /// epoch shuffled from <see cref="TrainingOptions.Seed"/> and the epoch alone (so that a resumed run reads the same
    /// batches), with the tokenizer's special ids and vocabulary size.
    /// </summary>
    Task<BlipRunData> OpenAsync(StageRunContext context, TrainingOptions options, int replicas, CancellationToken cancellationToken);
}

/// <summary>A run's opened data; disposing it stops any background preparation.</summary>
/// <param name="Tokens">The tokenizer's special ids.</param>
/// <param name="VocabSize">The tokenizer's vocabulary size: the word-embedding rows.</param>
/// <param name="Shards">One batch source per replica.</param>
/// <param name="Eval">Held-out pairs for retrieval evaluation (their <c>ImageIds</c> say which captions belong to which image), or null.</param>
public sealed record BlipRunData(BlipSpecialTokens Tokens, int VocabSize, IReadOnlyList<IBlipBatchSource> Shards, IBlipBatchSource? Eval) : IAsyncDisposable
{
    /// <summary>The tokenizer's vocabulary, one token a line as in <c>vocab.txt</c>; written beside the weights so later stages read token ids the same way.</summary>
    public IReadOnlyList<string> Vocabulary { get; init; } = [];

    /// <summary>
    /// The training captions' token ids ([CLS] … [SEP], unpadded, as the batches encode them), read when called:
    /// what <see cref="CaptionSwaps"/> learns its one-word edits from.
    /// </summary>
    public Func<IEnumerable<IReadOnlyList<long>>> TrainCaptionIds { get; init; } = () => [];

    /// <summary>Releases the data side's resources (background workers, open files).</summary>
    public Func<ValueTask>? Release { get; init; }

    public ValueTask DisposeAsync() => Release?.Invoke() ?? ValueTask.CompletedTask;
}
