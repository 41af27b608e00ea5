using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// How an experiment comes to exist: written through the creation gate, its stages initialised (those that wait on
/// upstream stages then leave memory), its summary indexed and its first stages queued; answered with its view.
/// </summary>
public sealed partial class ExperimentGrain
{
    /// <summary>Stage grains initialised at once.</summary>
    private const int InitializeAtOnce = 32;

    public async Task<CreateResult> CreateAsync(ExperimentDraft draft)
    {
        if (Experiment.Exists)
        {
            if (Experiment.SpecHash != draft.SpecHash)
            {
                return new CreateResult(CreateOutcome.Conflict);
            }

            // A retried request: the first may have failed after the experiment was written (a storage outage, a
            // crash), before every stage was initialised or the first ones queued, or its summary indexed. All are harmless
            // when repeated.
            await ExperimentIndex.UpsertAsync(GrainFactory, Summary());
            await InitializeStagesAsync();
            if (Experiment.Status == ExperimentStatus.Running)
            {
                await AdvanceAsync();
            }

            return new CreateResult(CreateOutcome.AlreadyExisted) { View = await ViewAsync() };
        }

        var admission = await creations.TryEnterAsync();
        if (admission.Slot is null)
        {
            return new CreateResult(CreateOutcome.Busy, admission.RetryAfter);
        }

        _creating = true;
        Dictionary<string, StageView> initialized;
        try
        {
            using (admission.Slot)
            {
                initialized = await CreateNewAsync(draft);
            }

            // Outside the gate, which waits for no index: the summary goes to its partition, whose write is shared with the
            // creations that came meanwhile. Only then are the first stages queued, so that the grain is free to hear them
            // end once they run.
            await ExperimentIndex.UpsertAsync(GrainFactory, Summary());
            await StartAsync();
        }
        finally
        {
            _creating = false;
        }

        // Created whole: nothing is due any more. Outside the gate, which waits for no reminder table.
        await CarriedThroughAsync();

        // The stages still waiting are as they were initialised, and have left memory: the view does not bring them back.
        var waiting = initialized.Where(stage => Experiment.StageRecords[stage.Key].Status == StageStatus.Pending).ToDictionary();
        return new CreateResult(CreateOutcome.Created) { View = await ViewAsync(Experiment, waiting) };
    }

    /// <summary>
    /// Writes the new experiment and initialises its stages: the part of a creation the gate lets in one at a time.
    /// Returns each stage as initialised.
    /// </summary>
    private async Task<Dictionary<string, StageView>> CreateNewAsync(ExperimentDraft draft)
    {
        var now = time.GetUtcNow();
        Experiment.Name = draft.Name;
        Experiment.Labels = draft.Labels;
        Experiment.SpecJson = draft.SpecJson;
        Experiment.SpecHash = draft.SpecHash;
        Experiment.SubmittedBy = draft.SubmittedBy;
        Experiment.Stages = draft.Stages;
        Experiment.CreatedAt = now;
        Experiment.Status = ExperimentStatus.Running;
        Experiment.StageRecords = draft.Stages.ToDictionary(stage => stage.StageId, _ => new StageRecord { ChangedAt = now });

        // Persist first, then the reminder: a creation that fails after this point (a crash, a storage write that failed)
        // is finished by the retried request or by the reminder's reconciliation, which initialise the stages again, index
        // the summary and queue the first stages. The reminder goes once the creation is whole (CreateAsync).
        await _state.WriteAsync();
        _written = Durable();
        await CarryingThroughAsync();
        return await InitializeStagesAsync();
    }

    /// <summary>Queues the stages with no upstream: they are ready now, which is when their dispatch latency starts.</summary>
    private async Task StartAsync()
    {
        var created = time.GetUtcNow();
        foreach (var record in Experiment.StageRecords.Values)
        {
            record.ChangedAt = created;
        }

        using (ExperimentScope())
        {
            logger.LogInformation("Experiment {ExperimentId} '{Name}' created with {Stages} stages", this.GetPrimaryKeyString(), Experiment.Name, Experiment.Stages.Count);
        }

        await AdvanceAsync();
    }

    /// <summary>
    /// Initialises every stage grain (harmless for one already initialised), <see cref="InitializeAtOnce"/> at a time: a
    /// 500-stage experiment would otherwise send 500 first writes to storage at once, and on a busy account some would
    /// outlast their try, be retried, and meet their own first try's blob. Returns each stage as it now is.
    /// </summary>
    private async Task<Dictionary<string, StageView>> InitializeStagesAsync()
    {
        var views = new Dictionary<string, StageView>();
        foreach (var batch in Experiment.Stages.Chunk(InitializeAtOnce))
        {
            foreach (var view in await Task.WhenAll(batch.Select(stage => Stage(stage.StageId).InitializeAsync(stage))))
            {
                views[view.Id] = view;
            }
        }

        _stagesInitialized = true;
        return views;
    }
}
