namespace Trainer.Worker.Runners;

/// <summary>
/// Where a run's reports (progress, saved checkpoints) go: the agent's publisher, which retries through broker outages.
/// An interface here, so the runners' side depends on nothing of the agent that runs it.
/// </summary>
public interface IStageRunReports
{
    /// <summary>Publishes <paramref name="message"/> to the orchestrator, retrying until it is delivered or the token is cancelled.</summary>
    Task PublishAsync<T>(T message, CancellationToken cancellationToken)
        where T : class;
}
