using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Specs;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>
/// Submits a spec: reads it within the host's <see cref="SpecLimits"/>, validates it as a whole, against the catalog
/// and against what the cluster can satisfy (gang size, the workers' import roots, in standalone mode the kinds its
/// worker runs), and creates the experiment only when it has no error.
/// </summary>
public sealed class ExperimentSubmitter(IGrainFactory grains, IOptions<SpecLimits> limits, WorkerCapabilities workers, IOptions<SchedulerOptions> scheduler)
{
    /// <summary>Submits as <paramref name="caller"/>, who owns the experiment and scopes <paramref name="idempotencyKey"/>.</summary>
    public async Task<SubmitResult> SubmitAsync(string text, SpecFormat format, string? idempotencyKey, string caller)
    {
        var id = idempotencyKey is null ? ExperimentIds.New() : ExperimentIds.FromIdempotencyKey(idempotencyKey, caller);
        var read = SpecReader.Read(text, format, limits.Value);
        var rules = new SubmissionRules
        {
            MaxGangSize = scheduler.Value.MaxGangSize,
            ImportRoots = read.Spec is { } spec && SpecValidator.ReadsImportPaths(spec) ? await Unavailable.Bounded(workers.ImportRootsAsync()) : [],

            // In one process the in-process worker is the only worker there will be: a kind it does not run never runs.
            RunnableKinds = workers.Local?.StageKinds,
        };
        var prepared = ExperimentDrafts.Prepare(read, id, rules);
        if (prepared.Draft is null)
        {
            return new SubmitResult(id, null, prepared.Errors) { ExceededLimit = prepared.ExceededLimit };
        }

        var created = await Unavailable.Bounded(
            grains.GetGrain<IExperimentGrain>(id).CreateAsync(prepared.Draft with { SubmittedBy = caller }), Unavailable.CreationDeadline(prepared.Draft.Stages.Count));
        return new SubmitResult(id, created.Outcome, []) { RetryAfter = created.RetryAfter, View = created.View };
    }
}

/// <summary>The experiment id and what creating it did, or the spec's errors (then nothing was created).</summary>
public sealed record SubmitResult(string ExperimentId, CreateOutcome? Outcome, IReadOnlyList<SpecError> Errors)
{
    /// <summary>When the silo was too busy to create it (<see cref="CreateOutcome.Busy"/>), how long to wait before retrying.</summary>
    public TimeSpan RetryAfter { get; init; }

    /// <summary>The experiment once created or found created already; null otherwise.</summary>
    public ExperimentView? View { get; init; }

    /// <summary>
    /// The <see cref="SpecLimits"/> setting that stopped reading the spec, e.g. <c>SpecLimits:MaxNodes</c>, so refusals
    /// can be counted by reason; null if none did.
    /// </summary>
    public string? ExceededLimit { get; init; }
}
