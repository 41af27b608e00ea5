namespace Trainer.Worker.Agent;

/// <summary>What the worker did with a <c>StartStageRun</c>.</summary>
public enum RunAcceptance
{
    /// <summary>A slot was free: the run is starting.</summary>
    Started,

    /// <summary>Every slot is busy: the run waits in the worker's FIFO queue and starts when a slot frees.</summary>
    Queued,

    /// <summary>The run id is already running, queued or finished here: the message is a redelivery and is ignored.</summary>
    Duplicate,

    /// <summary>The worker is shutting down: the run is reported failed (retryable) without starting.</summary>
    Refused,
}
