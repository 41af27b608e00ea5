using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.Messages;
using Polly.CircuitBreaker;
using Trainer.Worker.Agent;

namespace Trainer.Worker.Tests.Agent;

public sealed class ReportPublisherTests
{
    // No backoff, so the retries run without advancing the clock; the breaker still keeps time on it.
    private static readonly ReportPublisherOptions Immediate = new() { RetryDelay = TimeSpan.Zero, MaxRetryAttempts = 8 };

    private static readonly DeregisterWorker Report = new() { WorkerId = "w1" };

    [Fact]
    public async Task A_broker_blip_delays_a_report_but_does_not_lose_it()
    {
        var attempts = 0;
        var delivered = new List<(object Message, Type Type)>();
        var publisher = new ReportPublisher(
            (message, type, _) =>
            {
                if (++attempts <= 2)
                {
                    return Task.FromException(new InvalidOperationException("connection reset"));
                }

                delivered.Add((message, type));
                return Task.CompletedTask;
            },
            new FakeTimeProvider(), NullLogger<ReportPublisher>.Instance, Immediate);

        await publisher.PublishAsync(Report, CancellationToken.None);

        Assert.Equal(3, attempts);
        Assert.Equal([(Report, typeof(DeregisterWorker))], delivered);
    }

    [Fact]
    public async Task A_failing_broker_opens_the_circuit_so_attempts_fail_fast_until_the_break_is_over()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        var brokerUp = false;
        var publisher = new ReportPublisher(
            (_, _, _) =>
            {
                attempts++;
                return brokerUp ? Task.CompletedTask : Task.FromException(new InvalidOperationException("broker unreachable"));
            },
            time, NullLogger<ReportPublisher>.Instance, Immediate);

        await Assert.ThrowsAsync<BrokenCircuitException>(() => publisher.PublishAsync(Report, CancellationToken.None));
        Assert.Equal(Immediate.CircuitMinimumThroughput, attempts);

        brokerUp = true;
        time.Advance(Immediate.BreakDuration);
        await publisher.PublishAsync(Report, CancellationToken.None);
        Assert.Equal(Immediate.CircuitMinimumThroughput + 1, attempts);
    }

    [Fact]
    public async Task A_publish_that_never_finishes_is_published_again_after_the_attempt_timeout_however_often_it_takes()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        var delivered = 0;
        var hung = new TaskCompletionSource();
        // More stalls than the retry for failures allows: stalls have a retry of their own.
        var stalls = Immediate.MaxRetryAttempts + 2;
        var publisher = new ReportPublisher(
            (_, _, _) =>
            {
                if (Interlocked.Increment(ref attempts) <= stalls)
                {
                    return hung.Task;
                }

                delivered++;
                return Task.CompletedTask;
            },
            time, NullLogger<ReportPublisher>.Instance, Immediate);

        var publishing = publisher.PublishAsync(Report, CancellationToken.None);
        for (var attempt = 1; attempt <= stalls; attempt++)
        {
            await WaitForAttemptsAsync(() => Volatile.Read(ref attempts), attempt);
            time.Advance(Immediate.AttemptTimeout - TimeSpan.FromTicks(1));
            Assert.Equal(attempt, Volatile.Read(ref attempts));
            Assert.False(publishing.IsCompleted);
            time.Advance(TimeSpan.FromTicks(1));
        }

        await publishing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((stalls + 1, 1), (attempts, delivered));
    }

    [Fact]
    public async Task A_cancelled_publish_is_not_retried()
    {
        var attempts = 0;
        var publisher = new ReportPublisher(
            (_, _, token) =>
            {
                attempts++;
                return Task.FromCanceled(token);
            },
            new FakeTimeProvider(), NullLogger<ReportPublisher>.Instance, Immediate);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publisher.PublishAsync(Report, cancellation.Token));
        Assert.True(attempts <= 1);
    }

    /// <summary>Retries run on the thread pool once the fake clock fires; waits (in real time, bounded) for the next attempt.</summary>
    private static async Task WaitForAttemptsAsync(Func<int> attempts, int expected)
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (attempts() < expected)
        {
            Assert.True(DateTime.UtcNow < limit, $"attempt {expected} did not start");
            await Task.Delay(1);
        }
    }
}
