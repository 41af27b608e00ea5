using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Observability;

namespace Trainer.Worker.Runners;

/// <summary>
/// What a stage runner gets for one run: the assignment, its bound options, its inputs (fetched on first use),
/// the checkpoint to resume from (verified, falling back to an older one when it is corrupt), a private work
/// folder, and the means to report progress, save checkpoints and commit outputs. Reports and checkpoint commits
/// use the run's report token rather than the runner's cancellation token, so a cancelled run can still save its
/// state on the way out (until the drain timeout).
/// </summary>
public sealed partial class StageRunContext
{
    /// <summary>The artifact store's folder for caches; experiment ids always start with <c>exp-</c>, so it is nobody's.</summary>
    private const string CacheExperiment = "caches";

    private readonly IArtifactStore _store;
    private readonly CheckpointResolver _checkpoints;
    private readonly IStageRunReports _publisher;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _progressInterval;
    private readonly CancellationToken _reportToken;
    private readonly TrainingRunSeries? _series;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Task<IReadOnlyList<LocalArtifact>>> _inputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _artifactNames = new(StringComparer.Ordinal);
    private Task<LocalArtifact?>? _resume;
    private long? _lastProgressAt;
    private long _lastAliveAt;
    private ArtifactReference? _lastSavedCheckpoint;
    private bool _resumeResolved;
    private ArtifactReference? _resumedFrom;

    internal StageRunContext(
        StartStageRun run,
        StageKind kind,
        object options,
        string device,
        string workDirectory,
        IArtifactStore store,
        CheckpointResolver checkpoints,
        IStageRunReports publisher,
        TimeProvider timeProvider,
        TimeSpan progressInterval,
        ILogger logger,
        CancellationToken reportToken,
        TrainingRunSeries? series = null)
    {
        Run = run;
        Kind = kind;
        Options = options;
        Device = device;
        WorkDirectory = workDirectory;
        Logger = logger;
        OptionsHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(run.OptionsJson)));
        _store = store;
        _checkpoints = checkpoints;
        _publisher = publisher;
        _timeProvider = timeProvider;
        _progressInterval = progressInterval;
        _reportToken = reportToken;
        _series = series;
        _lastAliveAt = timeProvider.GetTimestamp();
    }

    /// <summary>The assignment: ids, attempt, inputs, rank in the gang.</summary>
    public StartStageRun Run { get; }

    /// <summary>The run's kind, as the catalog describes it.</summary>
    public StageKind Kind { get; }

    /// <summary>The options, bound onto the kind's options class (<see cref="StageKind.OptionsType"/>).</summary>
    public object Options { get; }

    /// <summary><c>cpu</c> or <c>cuda</c>: where this worker trains.</summary>
    public string Device { get; }

    /// <summary>A folder of this run's own, created empty and removed when the run ends.</summary>
    public string WorkDirectory { get; }

    /// <summary>Logs within the run's scope (experiment, stage and run ids).</summary>
    public ILogger Logger { get; }

    /// <summary>SHA-256 of the resolved options, recorded on every artifact the run commits.</summary>
    public string OptionsHash { get; }

    /// <summary>
    /// Cancelled when the worker gives up on the run: a drain timeout after it was asked to stop, or at once when the
    /// watchdog fails it for making no progress. Whatever the run waits on that does not end with cancellation (a
    /// collective, a rendezvous) should end with this; reports and checkpoint commits already do.
    /// </summary>
    public CancellationToken Aborted => _reportToken;

    /// <summary>When the run last reported progress, committed a checkpoint or beat; a <see cref="TimeProvider"/> timestamp.</summary>
    internal long LastAliveAt => Interlocked.Read(ref _lastAliveAt);

    /// <summary>The checkpoint the orchestrator asked this attempt to resume from; null starts fresh.</summary>
    public ArtifactReference? ResumeFrom => Run.ResumeFrom;

    /// <summary>
    /// The latest checkpoint: the last one this run saved, else the one it resumed from (once
    /// <see cref="FetchResumeCheckpointAsync"/> has chosen it: an older one when the given one was corrupt, none
    /// when no checkpoint verified), else the one it was given.
    /// </summary>
    public ArtifactReference? LastCheckpoint
    {
        get
        {
            lock (_lock)
            {
                return _lastSavedCheckpoint ?? ResumedFromLocked();
            }
        }
    }

    /// <summary>The options as the kind's options class, e.g. <c>GetOptions&lt;BlipPretrainOptions&gt;()</c>.</summary>
    public T GetOptions<T>()
        where T : class =>
        Options as T ?? throw new InvalidOperationException(
            $"options of kind {Kind.Name} are {Options.GetType().Name}, not {typeof(T).Name}");

    /// <summary>
    /// The artifacts bound to input <paramref name="name"/>, verified and in local folders; fetched once, on first
    /// call. An optional input that was not bound gives an empty list.
    /// </summary>
    public Task<IReadOnlyList<LocalArtifact>> FetchInputAsync(string name, CancellationToken cancellationToken)
    {
        Task<IReadOnlyList<LocalArtifact>> fetch;
        lock (_lock)
        {
            if (!_inputs.TryGetValue(name, out fetch!))
            {
                fetch = FetchAllAsync(InputReferences(name));
                _inputs[name] = fetch;
            }
        }

        // The shared fetch runs to the end for every caller; each caller waits only as long as it wants.
        return fetch.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The checkpoint to resume from, verified and in a local folder; null when the run starts fresh. When the
    /// given checkpoint is corrupt or gone, the newest older checkpoint of the stage that verifies is used instead
    /// (<see cref="CheckpointResolver"/>); when none does, the run starts fresh. The returned manifest says which.
    /// </summary>
    public Task<LocalArtifact?> FetchResumeCheckpointAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _resume ??= Run.ResumeFrom is { } checkpoint
                ? ResolveResumeAsync(checkpoint)
                : Task.FromResult<LocalArtifact?>(null);
            return _resume.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Reports the run's progress. Reports closer together than the worker's progress interval are dropped, except
    /// the one for the last step, so a runner may call this every step. Every report, dropped or not, updates the
    /// worker's training series (metrics named as in <see cref="VisionLanguage.Training.ProgressMetricKeys"/>).
    /// </summary>
    public Task ReportProgressAsync(
        long step,
        long? totalSteps = null,
        int? epoch = null,
        IReadOnlyDictionary<string, double>? metrics = null,
        double? samplesPerSecond = null)
    {
        _series?.Record(step, metrics, samplesPerSecond);
        var now = _timeProvider.GetTimestamp();
        Interlocked.Exchange(ref _lastAliveAt, now);
        if (Run.Rank != 0)
        {
            // A gang's progress is rank 0's to report; the other ranks' steps show in their own worker's series (and
            // keep their own watchdog quiet).
            return Task.CompletedTask;
        }

        lock (_lock)
        {
            var isLast = totalSteps is { } total && step >= total;
            if (!isLast && _lastProgressAt is { } last && _timeProvider.GetElapsedTime(last, now) < _progressInterval)
            {
                return Task.CompletedTask;
            }

            _lastProgressAt = now;
        }

        return _publisher.PublishAsync(new StageRunProgressed
        {
            RunId = Run.RunId,
            ExperimentId = Run.ExperimentId,
            StageId = Run.StageId,
            Step = step,
            TotalSteps = totalSteps,
            Epoch = epoch,
            SamplesPerSecond = samplesPerSecond,
            Metrics = metrics ?? new Dictionary<string, double>(),
        }, _reportToken);
    }

    /// <summary>
    /// Says the run is alive without reporting progress (an evaluation batch, a re-ranked query, a decoded batch). The
    /// worker's watchdog fails a run that neither reports progress, commits a checkpoint nor beats for
    /// <c>Worker:ProgressTimeout</c>. Cheap: it notes the time.
    /// </summary>
    public void Beat() => Interlocked.Exchange(ref _lastAliveAt, _timeProvider.GetTimestamp());

    /// <summary>
    /// Commits the files under <paramref name="directory"/> as a checkpoint of this run at <paramref name="step"/>
    /// and reports it (<see cref="CheckpointSaved"/>), so a retry resumes from it. Runs to the end even after the
    /// run was cancelled: this is how a cancelled run saves its state.
    /// </summary>
    public async Task<ArtifactReference> SaveCheckpointAsync(string directory, long step, IReadOnlyDictionary<string, double>? metrics = null)
    {
        var draft = Draft(CheckpointType().Name, $"checkpoint-step-{step:D6}", metrics) with { Step = step };
        var bytes = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(file => file.Length);
        var started = _timeProvider.GetTimestamp();
        var reference = await _store.CommitAsync(draft, directory, _reportToken);
        _series?.RecordCheckpoint(_timeProvider.GetElapsedTime(started), bytes);
        var sha256 = reference.Sha256 ?? throw new InvalidOperationException(
            $"the artifact store returned checkpoint {reference.Uri} without the SHA-256 of its manifest; the store must set ArtifactReference.Sha256");
        lock (_lock)
        {
            _lastSavedCheckpoint = reference;
        }

        Beat();

        await _publisher.PublishAsync(new CheckpointSaved
        {
            RunId = Run.RunId,
            ExperimentId = Run.ExperimentId,
            StageId = Run.StageId,
            Checkpoint = reference,
            Step = step,
            Sha256 = sha256,
        }, _reportToken);
        Logger.LogInformation("Checkpoint at step {Step} saved as {Checkpoint}", step, reference.Uri);
        return reference;
    }

    /// <summary>Commits the files under <paramref name="directory"/> as output <paramref name="output"/> of the kind.</summary>
    public Task<ArtifactReference> CommitOutputAsync(
        string output, string directory, IReadOnlyDictionary<string, double>? metrics = null, CancellationToken cancellationToken = default)
    {
        var slot = Kind.FindOutput(output) ?? throw new ArgumentException(
            $"kind {Kind.Name} has no output '{output}'; its outputs: {string.Join(", ", Kind.Outputs.Select(o => o.Name))}", nameof(output));
        return _store.CommitAsync(Draft(slot.Type.Name, output, metrics), directory, cancellationToken);
    }

    /// <summary>
    /// The newest kept cache <paramref name="cache"/> under <paramref name="key"/>, fetched and verified; null when none
    /// was kept or the kept one is corrupt (the run then computes it again). Counted as a hit or a miss.
    /// </summary>
    public async Task<LocalArtifact?> FindCacheAsync(string cache, string key, CancellationToken cancellationToken)
    {
        var kept = await _store.ListAsync(CacheExperiment, CacheStage(cache, key), cancellationToken);
        LocalArtifact? found = null;
        if (kept.Count > 0)
        {
            try
            {
                found = await _store.FetchAsync(kept[^1].Reference, cancellationToken);
            }
            catch (ArtifactCorruptException error)
            {
                Logger.LogWarning(error, "Cache {Cache} {Key} is corrupt; computing it again", cache, key);
            }
        }

        _series?.RecordCacheLookup(cache, found is not null);
        return found;
    }

    /// <summary>How much of the runs' caches the store keeps; applied each time a run keeps one.</summary>
    public CacheRetention CacheRetention { get; init; } = CacheRetention.Unbounded;

    /// <summary>
    /// Commits <paramref name="directory"/> as cache <paramref name="cache"/> under <paramref name="key"/>, outside every
    /// experiment (any later run with the same key finds it); its manifest names this run and its inputs. Then deletes
    /// the caches <see cref="CacheRetention"/> no longer keeps.
    /// </summary>
    public async Task<ArtifactReference> KeepCacheAsync(
        string cache, string key, string directory, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken)
    {
        var kept = await _store.CommitAsync(new ArtifactDraft
        {
            Type = $"cache.{cache}",
            ExperimentId = CacheExperiment,
            StageId = CacheStage(cache, key),
            RunId = Run.RunId,
            Name = cache,
            OptionsHash = OptionsHash,
            Parents = [.. Run.Inputs.Values.SelectMany(references => references)],
            Metrics = metrics,
        }, directory, cancellationToken);
        foreach (var expired in CacheRetention.Expired(await _store.ListExperimentAsync(CacheExperiment, cancellationToken), kept, _timeProvider.GetUtcNow()))
        {
            await _store.DeleteAsync(expired.Reference, cancellationToken);
            Logger.LogInformation("Deleted cache {Cache} of run {RunId}, committed {CommittedAt:u} ({Bytes} bytes)",
                expired.Draft.StageId, expired.Draft.RunId, expired.CommittedAt, expired.Files.Sum(file => file.Size));
        }

        return kept;
    }

    private static string CacheStage(string cache, string key) => $"{cache}-{key}";

    private ArtifactDraft Draft(string type, string name, IReadOnlyDictionary<string, double>? metrics)
    {
        string unique;
        lock (_lock)
        {
            // Names are unique within a run; a second checkpoint at the same step (say, saved on cancel) gets a suffix.
            unique = name;
            for (var n = 2; !_artifactNames.Add(unique); n++)
            {
                unique = $"{name}-{n}";
            }
        }

        return new ArtifactDraft
        {
            Type = type,
            ExperimentId = Run.ExperimentId,
            StageId = Run.StageId,
            RunId = Run.RunId,
            Name = unique,
            OptionsHash = OptionsHash,
            Parents = [.. Run.Inputs.Values.SelectMany(references => references), .. ResumedFrom() is { } resume ? [resume] : Array.Empty<ArtifactReference>()],
            Metrics = metrics ?? new Dictionary<string, double>(),
        };
    }

    /// <summary>The kind's own checkpoint type when it declares one (a retry may also hand it downstream), else <c>checkpoint.{kind}</c>.</summary>
    private ArtifactType CheckpointType()
    {
        var checkpoint = new ArtifactType("checkpoint");
        foreach (var output in Kind.Outputs)
        {
            if (output.Type.Fits(checkpoint))
            {
                return output.Type;
            }
        }

        return new ArtifactType($"checkpoint.{Kind.Name}");
    }

    private IReadOnlyList<ArtifactReference> InputReferences(string name)
    {
        if (Run.Inputs.TryGetValue(name, out var references))
        {
            return references;
        }

        var slot = Kind.FindInput(name) ?? throw new ArgumentException(
            $"kind {Kind.Name} has no input '{name}'; its inputs: {string.Join(", ", Kind.Inputs.Select(i => i.Name))}", nameof(name));
        return slot.Optional
            ? []
            : throw new InvalidOperationException(
                $"run {Run.RunId} was given no artifact for input '{name}' of kind {Kind.Name}, which needs it; its inputs: {string.Join(", ", Run.Inputs.Keys)}");
    }

    private async Task<IReadOnlyList<LocalArtifact>> FetchAllAsync(IReadOnlyList<ArtifactReference> references)
    {
        var fetched = new List<LocalArtifact>(references.Count);
        foreach (var reference in references)
        {
            fetched.Add(await _store.FetchAsync(reference, _reportToken));
        }

        return fetched;
    }

    private async Task<LocalArtifact?> ResolveResumeAsync(ArtifactReference checkpoint)
    {
        var resolved = await _checkpoints.ResolveAsync(Run.ExperimentId, Run.StageId, checkpoint, _reportToken);
        lock (_lock)
        {
            _resumedFrom = resolved?.Manifest.Reference;
            _resumeResolved = true;
        }

        return resolved;
    }

    private ArtifactReference? ResumedFrom()
    {
        lock (_lock)
        {
            return ResumedFromLocked();
        }
    }

    private ArtifactReference? ResumedFromLocked() => _resumeResolved ? _resumedFrom : Run.ResumeFrom;
}
