namespace Trainer.Worker.Runners;

/// <summary>
/// Trouble that another attempt may not meet (a lost device, an unreachable store): the run is reported failed
/// with Retryable set, so the orchestrator runs it again from its last checkpoint.
/// </summary>
public sealed class RetryableStageException(string message, Exception? innerException = null)
    : Exception(message, innerException);
