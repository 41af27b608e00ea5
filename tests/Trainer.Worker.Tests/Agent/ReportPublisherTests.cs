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
}
