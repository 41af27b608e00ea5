namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// Hands assignments to workers. The scheduler calls it and returns; it never waits for training.
/// The transport implements it (in-memory or RabbitMQ); tests use a recording double.
/// </summary>
public interface IStageRunDispatcher
{
    /// <summary>Sends the run to each of its workers' own queues, with each worker's rank.</summary>
    Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default);

    /// <summary>Asks <paramref name="workerIds"/> (all or some of the run's gang) to stop the run and save a checkpoint.</summary>
    Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default);
}
