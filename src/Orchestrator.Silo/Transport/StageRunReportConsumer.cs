using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// Hands every report from a worker to its stage grain. The grain fences by run id, so a redelivered or
/// superseded report changes nothing; this consumer only logs that it was ignored. Each report is handled in an
/// activity of the run's trace (the worker's trace context comes in the message headers); its log lines carry
/// the run's ids through the bus's <c>RunLogScopeFilter</c>.
/// </summary>
public sealed class StageRunReportConsumer(IGrainFactory grains, ILogger<StageRunReportConsumer> logger) :
    IConsumer<StageRunStarted>,
    IConsumer<StageRunProgressed>,
    IConsumer<CheckpointSaved>,
    IConsumer<StageRunCompleted>,
    IConsumer<StageRunFailed>
{
    public Task Consume(ConsumeContext<StageRunStarted> context) =>
        ApplyAsync(context.Message, stage => stage.ReportStartedAsync(new RunStartedReport(context.Message.RunId, context.Message.WorkerId)));

    public Task Consume(ConsumeContext<StageRunProgressed> context)
    {
        var message = context.Message;
        return ApplyAsync(message, stage => stage.ReportProgressAsync(new RunProgressReport
        {
            RunId = message.RunId,
            Step = message.Step,
            TotalSteps = message.TotalSteps,
            Epoch = message.Epoch,
            SamplesPerSecond = message.SamplesPerSecond,
            Metrics = new Dictionary<string, double>(message.Metrics),
        }));
    }

    public Task Consume(ConsumeContext<CheckpointSaved> context) =>
        ApplyAsync(context.Message, stage => stage.ReportCheckpointAsync(
            new RunCheckpointReport(context.Message.RunId, context.Message.Checkpoint.ToGrain(context.Message.RunId))));

    public Task Consume(ConsumeContext<StageRunCompleted> context)
    {
        var message = context.Message;
        return ApplyAsync(message, stage => stage.ReportCompletedAsync(new RunCompletedReport
        {
            RunId = message.RunId,
            Outputs = message.Outputs.ToDictionary(output => output.Key, output => output.Value.ToGrain(message.RunId)),
            Metrics = new Dictionary<string, double>(message.Metrics),
            Rank = message.Rank,
        }));
    }

    public Task Consume(ConsumeContext<StageRunFailed> context)
    {
        var message = context.Message;
        return ApplyAsync(message, stage => stage.ReportFailedAsync(new RunFailedReport
        {
            RunId = message.RunId,
            Error = message.Error,
            Retryable = message.Retryable,
            LastCheckpoint = message.LastCheckpoint?.ToGrain(message.RunId),
        }));
    }

    private async Task ApplyAsync<T>(T message, Func<IStageGrain, Task<ReportOutcome>> apply)
        where T : IStageRunMessage
    {
        using var activity = OrchestratorTracing.StartReport(typeof(T).Name, message.ExperimentId, message.StageId, message.RunId);
        var outcome = await apply(grains.GetGrain<IStageGrain>(StageKey.Of(message.ExperimentId, message.StageId)));
        if (outcome != ReportOutcome.Applied)
        {
            activity?.SetTag("Outcome", outcome.ToString());
            logger.LogInformation("Ignored {Report} for run {RunId}: {Outcome}", typeof(T).Name, message.RunId, outcome);
        }
    }
}

/// <summary>
/// Reports are retried on grain-call errors for about two minutes (12 retries, 0.3 s growing to 10 s apart, plus the
/// tries themselves): long enough to outlast a storage outage of a minute, in which every write fails within about
/// 4.5 s and the stage keeps nothing it did not write, so the report applies once storage answers again. A report that
/// still fails goes to the error queue; if it was the one that ended a run, the worker's next heartbeat, which no
/// longer lists the run, gets it declared lost and retried from its last checkpoint (docs/decisions.md).
/// Sixteen are handled at once: each is a short grain call, and a backlog waits its turn in the broker's queue,
/// which is first-come-first-served, rather than in the silo's thread pool, where it would delay the hand-offs of
/// runs already in the cluster (64 at once put the dispatch p99 at 32–39 ms, 16 at 23–27 ms: docs/benchmarks.md).
/// Fewer is worse: at 8 the reports fall behind, runs hold their slots for longer, and new runs wait for one (p99
/// 34–178 ms); 32 is no better than 16.
/// </summary>
public sealed class StageRunReportConsumerDefinition : ConsumerDefinition<StageRunReportConsumer>
{
    public StageRunReportConsumerDefinition()
    {
        EndpointName = QueueNames.OrchestratorReports;
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StageRunReportConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(12, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
