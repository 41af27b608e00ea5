using System.Runtime.InteropServices;
using Azure;

namespace Trainer.Worker.Agent;

/// <summary>Which exceptions from a run are worth another attempt.</summary>
internal static class RunFailures
{
    /// <summary>The error to report for <paramref name="exception"/>, and whether a retry may succeed.</summary>
    public static (string Error, bool Retryable) Classify(Exception exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } aggregate => Classify(aggregate.InnerExceptions[0]),

        // The Azure SDK's retries, all failed: retryable when every try was.
        AggregateException { InnerExceptions.Count: > 1 } aggregate => (aggregate.InnerExceptions[^1].Message,
            aggregate.InnerExceptions.All(inner => Classify(inner).Retryable)),
        Runners.RetryableStageException or IOException or TimeoutException or HttpRequestException => (exception.Message, true),

        // The artifact store unreachable (no answer: status 0), busy or failing on its side: a storage outage, which
        // the next attempt, from the last checkpoint, outlasts. A refusal (403, 404, 409...) is permanent.
        RequestFailedException { Status: 0 or 408 or 429 or >= 500 } => (exception.Message, true),

        // Nobody asked this run to stop (that case is reported as cancelled or shutting down before we get here),
        // so the cancellation is a timeout below the runner, e.g. in a store call.
        OperationCanceledException => (exception.Message, true),

        // An error from libtorch itself (TorchSharp raises exactly this type). A deterministic one, such as a shape
        // mismatch, fails again at once and uses up the stage's few attempts; a transient one (a native scalar freed
        // mid-call, an allocation failure) would otherwise end a long run for good instead of resuming it from its
        // last checkpoint.
        ExternalException when exception.GetType() == typeof(ExternalException) => ($"libtorch: {exception.Message}", true),
        _ => (exception.Message, false),
    };
}
