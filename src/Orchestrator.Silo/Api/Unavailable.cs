using Azure;

namespace Orchestrator.Silo.Api;

/// <summary>
/// What the API answers when the cluster cannot do a request now: a grain call that fails because its state could not be
/// read or written (the storage account unreachable or slow: every try is bounded, docs/decisions.md), one that did not
/// answer within <see cref="Deadline"/>, or a silo that is unavailable. The caller gets 503 problem details with
/// <c>Retry-After</c>, never 500. A write that timed out may still take effect once storage answers again: a retried
/// submission is safe with an <c>Idempotency-Key</c>, and cancel, resume and rerun are safe to repeat.
/// </summary>
public sealed class Unavailable(ILogger<Unavailable> logger) : IEndpointFilter
{
    /// <summary>
    /// The longest an API request waits for the grains: a storage write fails within about 4.5 s (two tries of 2 s and
    /// a 0.5 s pause), and a call may wait behind another one's write first; 8 s answers within the 10 s a client is owed.
    /// </summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);

    /// <summary>Seconds a client should wait before it retries.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary><paramref name="call"/>, or a <see cref="TimeoutException"/> once it has taken <paramref name="deadline"/> (<see cref="Deadline"/> unless given).</summary>
    public static Task<T> Bounded<T>(Task<T> call, TimeSpan? deadline = null) => call.WaitAsync(deadline ?? Deadline);

    /// <summary>
    /// How long creating an experiment of <paramref name="stages"/> stages may take: <see cref="Deadline"/> and 40 ms a
    /// stage, since each stage's state is written twice (initialised, then queued, the roots one after another in spec
    /// order). The largest experiment the API accepts (500 stages) took 8 s against Azurite here, so it gets 28 s. An
    /// outage still answers sooner: the first write that fails (within about 4.5 s) fails the creation.
    /// </summary>
    public static TimeSpan CreationDeadline(int stages) => Deadline + TimeSpan.FromMilliseconds(40) * stages;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception exception) when (IsUnavailable(exception))
        {
            var request = context.HttpContext.Request;
            logger.LogWarning("{Method} {Path} answered 503: {Error}", request.Method, request.Path, exception.Message);
            context.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Unavailable(
                $"The cluster could not complete the request now ({Describe(exception)}); retry after {RetryAfterSeconds} s. " +
                "A request that timed out may still take effect: a retried submission is safe with an Idempotency-Key, and cancel, resume and rerun are safe to repeat.");
        }
    }

    /// <summary>A failure of storage, of a grain call's time, or of a silo: not the request's fault, and likely to pass.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        TimeoutException or OrleansException or RequestFailedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => false,
    };

    private static string Describe(Exception exception) => exception switch
    {
        TimeoutException => $"no answer within {Deadline.TotalSeconds:0} s",
        OrleansException when exception.InnerException is not null => "its state could not be stored",
        _ => exception.GetType().Name,
    };
}
