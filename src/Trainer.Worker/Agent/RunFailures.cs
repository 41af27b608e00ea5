namespace Trainer.Worker.Agent;

/// <summary>Which exceptions from a run are worth another attempt.</summary>
internal static class RunFailures
{
    /// <summary>The error to report for <paramref name="exception"/>, and whether a retry may succeed.</summary>
    public static (string Error, bool Retryable) Classify(Exception exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } aggregate => Classify(aggregate.InnerExceptions[0]),
        Runners.RetryableStageException or IOException or TimeoutException => (exception.Message, true),

        // Nobody asked this run to stop (that case is reported as cancelled or shutting down before we get here),
        // so the cancellation is a timeout below the runner, e.g. in a store call.
        OperationCanceledException => (exception.Message, true),
        _ => (exception.Message, false),
    };
}
