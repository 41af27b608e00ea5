using VisionLanguage.Data;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Tasks.Pretraining;

/// <summary>What a BLIP image-text run reads: its datasets as folders, the checkpoint whose vocabulary it keeps, how to load.</summary>
/// <param name="Train">The training datasets, concatenated.</param>
/// <param name="Eval">Held-out datasets for retrieval evaluation; none when empty.</param>
/// <param name="Init">The checkpoint the run starts from, when any: its vocabulary, when it has one, keeps token ids meaning the same.</param>
/// <param name="Loader">Batches, crops, flips, image size and caption length.</param>
/// <param name="BadData">What to do with an unreadable image.</param>
public sealed record BlipDataRequest(
    IReadOnlyList<string> Train, IReadOnlyList<string> Eval, string? Init, LoaderSettings Loader, BadDataPolicy BadData)
{
    /// <summary>The model's own vocabulary when it has one from elsewhere (a Q-Former's text encoder); it comes before <see cref="Init"/>'s and the datasets'.</summary>
    public IReadOnlyList<string>? Vocabulary { get; init; }
}

/// <summary>
/// The data side of the BLIP image-text tasks (pretraining, retrieval): opens a run's datasets, tokenises captions and
/// prepares batches in the background. <see cref="BlipBatchSourceFactory"/> reads dataset folders; a test may give
/// batches of its own.
/// </summary>
public interface IBlipBatchSourceFactory
{
    /// <summary>
    /// Opens the run's data as the shards of <paramref name="layout"/>, each of <c>batch_size / world size</c> pairs per batch (<c>batch_size</c> is the global batch), each
    /// epoch shuffled from the loader's seed and the epoch alone (so that a resumed run reads the same batches), with the
    /// tokenizer's special ids and vocabulary size.
    /// </summary>
    BlipRunData Open(BlipDataRequest request, ShardLayout layout);
}

/// <summary>A run's opened data; disposing it stops any background preparation.</summary>
/// <param name="Tokens">The tokenizer's special ids.</param>
/// <param name="VocabSize">The tokenizer's vocabulary size: the word-embedding rows.</param>
/// <param name="Shards">One batch source per replica.</param>
/// <param name="Eval">Held-out pairs for retrieval evaluation (their <c>ImageIds</c> say which captions belong to which image), or null.</param>
public sealed record BlipRunData(BlipSpecialTokens Tokens, int VocabSize, IReadOnlyList<IBlipBatchSource> Shards, IBlipBatchSource? Eval) : IDisposable
{
    /// <summary>The tokenizer's vocabulary, one token a line as in <c>vocab.txt</c>; written beside the weights so later stages read token ids the same way.</summary>
    public IReadOnlyList<string> Vocabulary { get; init; } = [];

    /// <summary>
    /// The training captions' token ids ([CLS] … [SEP], unpadded, as the batches encode them), read when called:
    /// what <see cref="CaptionSwaps"/> learns its one-word edits from.
    /// </summary>
    public Func<IEnumerable<IReadOnlyList<long>>> TrainCaptionIds { get; init; } = () => [];

    /// <summary>Releases the data side's resources (background workers, open files).</summary>
    public Action? Release { get; init; }

    public void Dispose() => Release?.Invoke();
}

/// <summary>
/// Opens BLIP image-text data from dataset folders: the <c>train</c> datasets concatenated, <c>eval</c> when given,
/// one tokenizer for both (the <c>init</c> checkpoint's vocabulary when it has one, so token ids keep their meaning;
/// otherwise the datasets'), and one background loader per replica.
/// </summary>
public sealed class BlipBatchSourceFactory : IBlipBatchSourceFactory
{
    public BlipRunData Open(BlipDataRequest request, ShardLayout layout)
    {
        var loader = request.Loader;
        var replicas = layout.WorldSize;
        if (loader.BatchSize % replicas != 0)
        {
            throw new InvalidOperationException($"batch_size {loader.BatchSize} must be a multiple of the {replicas} replicas training it");
        }

        var trainSet = BlipDataset.Open([.. request.Train.Select(BlipDatasetSource.Folder)], request.BadData);
        BlipDataset? evalSet = null;
        try
        {
            evalSet = request.Eval.Count > 0 ? BlipDataset.Open([.. request.Eval.Select(BlipDatasetSource.Folder)], request.BadData) : null;
            var initVocabulary = request.Init is { } init ? Path.Combine(init, BlipVocabulary.FileName) : null;
            var vocabulary = request.Vocabulary
                ?? (initVocabulary is not null && File.Exists(initVocabulary)
                    ? File.ReadAllLines(initVocabulary)
                    : BlipVocabulary.ForDatasets(request.Train, trainSet.Samples.Select(sample => sample.Caption)));
            var tokenizer = BlipTokenizer.FromTokens(vocabulary);
            var shards = layout.Ranks
                .Select(rank => (IBlipBatchSource)new BlipLoaderBatchSource(
                    BlipDataLoader.ForTraining(trainSet, tokenizer, loader with { BatchSize = loader.BatchSize / replicas }, rank, replicas)))
                .ToList();
            var evalSource = evalSet is null ? null : new BlipLoaderBatchSource(BlipDataLoader.ForEvaluation(evalSet, tokenizer, loader));
            var opened = (Train: trainSet, Eval: evalSet);
            return new BlipRunData(
                new BlipSpecialTokens(tokenizer.PadId, tokenizer.ClsId, tokenizer.SepId, tokenizer.EncId, tokenizer.DecId, tokenizer.MaskId, tokenizer.UnkId),
                tokenizer.VocabSize,
                shards,
                evalSource)
            {
                Vocabulary = vocabulary,
                TrainCaptionIds = () => trainSet.Samples.Select(sample => (IReadOnlyList<long>)tokenizer.Encode(sample.Caption, loader.MaxTextLength)),
                Release = () =>
                {
                    opened.Train.Dispose();
                    opened.Eval?.Dispose();
                },
            };
        }
        catch
        {
            trainSet.Dispose();
            evalSet?.Dispose();
            throw;
        }
    }
}
