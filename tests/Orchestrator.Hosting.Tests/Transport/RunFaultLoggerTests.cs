using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;
using Orchestrator.Hosting.Transport;

namespace Orchestrator.Hosting.Tests.Transport;

public sealed class RunFaultLoggerTests
{
    [Fact]
    public async Task A_faulted_run_message_is_logged_with_its_ids_and_moved_to_the_error_queue()
    {
        var logs = new LogCapture();
        await using var provider = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs))
            .AddMassTransitTestHarness(bus =>
            {
                bus.AddConsumeObserver<RunFaultLogger>();
                bus.AddConsumer<ThrowingConsumer>();
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();

        await harness.Bus.Publish(new StageRunFailed { RunId = "r-7", ExperimentId = "exp-1", StageId = "pretrain", Error = "x", Retryable = true });

        Assert.True(await harness.Published.Any<Fault<StageRunFailed>>());

        // The fault is published before the observer hears of it: wait, bounded, for the line itself.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Lines.Any(IsFaultLine) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var line = Assert.Single(logs.Lines, IsFaultLine);
        Assert.StartsWith("StageRunFailed for run r-7 of exp-1/pretrain faulted and goes to the error queue of ", line.Message, StringComparison.Ordinal);
    }

    private static bool IsFaultLine(CapturedLine line) => line.Category == typeof(RunFaultLogger).FullName;

    private sealed class ThrowingConsumer : IConsumer<StageRunFailed>
    {
        public Task Consume(ConsumeContext<StageRunFailed> context) => throw new InvalidOperationException("consumer bug");
    }
}
