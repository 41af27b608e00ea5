using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>
/// Chooses the checkpoint a run resumes from. The one the run was given is used if it verifies; if it is
/// corrupt or gone, the newest older checkpoint of the same stage (from any of its runs) that verifies
/// is used instead; if none does, the run starts fresh. Each step away from the given checkpoint is logged
/// with its reason. A store that cannot be reached is not a reason to fall back: that error propagates,
/// because resuming from an older checkpoint (or from nothing) would throw away work that still exists.
/// </summary>
public sealed partial class CheckpointResolver(IArtifactStore store, ILogger<CheckpointResolver> logger)
{
    /// <summary>
    /// The verified local checkpoint to resume <paramref name="experimentId"/>/<paramref name="stageId"/>
    /// from, or null to start fresh (also when <paramref name="resumeFrom"/> is null).
    /// </summary>
    public async Task<LocalArtifact?> ResolveAsync(
        string experimentId, string stageId, ArtifactReference? resumeFrom, CancellationToken cancellationToken = default)
    {
        if (resumeFrom is null)
        {
            return null;
        }

        if (await TryFetchAsync(resumeFrom, cancellationToken) is { } requested)
        {
            return requested;
        }

        // Older than the broken checkpoint: a newer one would belong to a later attempt the orchestrator did
        // not choose. Without a step in the reference there is no "older", so every other checkpoint competes.
        var candidates = (await store.ListAsync(experimentId, stageId, cancellationToken))
            .Where(manifest => string.Equals(manifest.Draft.Type, resumeFrom.Type, StringComparison.Ordinal)
                && manifest.Draft.Step is { } step
                && (resumeFrom.Step is null || step < resumeFrom.Step)
                && !string.Equals(manifest.Reference.Uri, resumeFrom.Uri, StringComparison.Ordinal))
            .OrderByDescending(manifest => manifest.Draft.Step)
            .ThenByDescending(manifest => manifest.CommittedAt);
        foreach (var candidate in candidates)
        {
            if (await TryFetchAsync(candidate.Reference, cancellationToken) is { } fallback)
            {
                LogFallingBack(logger, resumeFrom.Uri, resumeFrom.Step, fallback.Manifest.Reference.Uri, fallback.Manifest.Draft.Step);
                return fallback;
            }
        }

        LogStartingFresh(logger, experimentId, stageId, resumeFrom.Uri);
        return null;
    }

    private async Task<LocalArtifact?> TryFetchAsync(ArtifactReference reference, CancellationToken cancellationToken)
    {
        try
        {
            return await store.FetchAsync(reference, cancellationToken);
        }
        catch (ArtifactCorruptException exception)
        {
            LogUnusable(logger, reference.Uri, reference.Step, exception.Message);
        }
        catch (ArtifactNotFoundException exception)
        {
            LogUnusable(logger, reference.Uri, reference.Step, exception.Message);
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Uri} (step {Step}) cannot be resumed from: {Reason}")]
    private static partial void LogUnusable(ILogger logger, string uri, long? step, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resuming from the older checkpoint {FallbackUri} (step {FallbackStep}) instead of {Uri} (step {Step})")]
    private static partial void LogFallingBack(ILogger logger, string uri, long? step, string fallbackUri, long? fallbackStep);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No checkpoint of {ExperimentId}/{StageId} at or before {Uri} verifies (each reason is logged above); the run starts fresh")]
    private static partial void LogStartingFresh(ILogger logger, string experimentId, string stageId, string uri);
}
