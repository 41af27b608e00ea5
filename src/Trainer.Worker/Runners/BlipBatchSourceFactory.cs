using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;

namespace Trainer.Worker.Runners;

/// <summary>
/// Opens <c>blip.pretrain</c>'s data: the <c>train</c> datasets concatenated, <c>eval</c> when bound, one
/// tokenizer for both (the <c>init</c> checkpoint's vocabulary when it has one, so token ids keep their
/// meaning; otherwise the datasets'), and one background loader per replica.
/// </summary>
public sealed class BlipBatchSourceFactory : IBlipBatchSourceFactory
{
    public async Task<BlipRunData> OpenAsync(StageRunContext context, TrainingOptions options, int replicas, CancellationToken cancellationToken)
    {
        if (options.BatchSize % replicas != 0)
        {
            throw new InvalidOperationException($"batch_size {options.BatchSize} must be a multiple of the {replicas} replicas training it");
        }

        var train = await context.FetchInputAsync("train", cancellationToken);
        var eval = await context.FetchInputAsync("eval", cancellationToken);
        var init = await context.FetchInputAsync("init", cancellationToken);
        var trainSet = BlipDataset.Open([.. train.Select(artifact => BlipDatasetSource.Folder(artifact.Directory))], BlipOptionsMapping.BadData(options.OnBadData));
        BlipDataset? evalSet = null;
        try
        {
            evalSet = eval.Count > 0 ? BlipDataset.Open([.. eval.Select(artifact => BlipDatasetSource.Folder(artifact.Directory))], BlipOptionsMapping.BadData(options.OnBadData)) : null;
            var initVocabulary = init.Select(artifact => Path.Combine(artifact.Directory, BlipVocabulary.FileName)).FirstOrDefault(File.Exists);
            var vocabulary = initVocabulary is not null
                ? File.ReadAllLines(initVocabulary)
                : BlipVocabulary.ForDatasets([.. train.Select(artifact => artifact.Directory)], trainSet.Samples.Select(sample => sample.Caption));
            var tokenizer = BlipTokenizer.FromTokens(vocabulary);
            var loader = BlipOptionsMapping.Loader(options);
            var shards = Enumerable.Range(0, replicas)
                .Select(rank => (IBlipBatchSource)new BlipLoaderBatchSource(
                    BlipDataLoader.ForTraining(trainSet, tokenizer, loader with { BatchSize = options.BatchSize / replicas }, rank, replicas)))
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
                TrainCaptionIds = () => trainSet.Samples.Select(sample => (IReadOnlyList<long>)tokenizer.Encode(sample.Caption, options.MaxTextLength)),
                Release = () =>
                {
                    opened.Train.Dispose();
                    opened.Eval?.Dispose();
                    return ValueTask.CompletedTask;
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
