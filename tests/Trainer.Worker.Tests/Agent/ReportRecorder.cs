using MassTransit;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Tests.Agent;

/// <summary>Stands in for the orchestrator's report consumers on the worker's bus.</summary>
internal sealed class ReportRecorder(Recorded recorded) : IConsumer<RegisterWorker>, IConsumer<StageRunCompleted>
{
    public Task Consume(ConsumeContext<RegisterWorker> context)
    {
        // A broker may be shared with other tests: only this test's worker counts.
        if (context.Message.WorkerId == recorded.WorkerId)
        {
            recorded.Registered.TrySetResult(context.Message);
        }

        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<StageRunCompleted> context)
    {
        recorded.Completed.TrySetResult(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>What <see cref="ReportRecorder"/> received for one worker.</summary>
internal sealed class Recorded(string workerId)
{
    public string WorkerId { get; } = workerId;

    public TaskCompletionSource<RegisterWorker> Registered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<StageRunCompleted> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
