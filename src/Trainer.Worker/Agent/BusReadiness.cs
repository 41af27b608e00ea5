using MassTransit;

namespace Trainer.Worker.Agent;

/// <summary>
/// Tells the worker when the bus is ready (every receive endpoint up and bound). A message published before that
/// can be dropped without an error (the in-memory transport binds its queues on start), and a worker whose
/// RegisterWorker was dropped would never be assigned a run, so the worker registers only once the bus is ready.
/// </summary>
public sealed class BusReadiness : IBusObserver
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the bus has started and all its endpoints are ready.</summary>
    public Task Ready => _ready.Task;

    public void PostCreate(IBus bus)
    {
    }

    public void CreateFaulted(Exception exception)
    {
    }

    public Task PreStart(IBus bus) => Task.CompletedTask;

    public Task PostStart(IBus bus, Task<BusReady> busReady)
    {
        // Not awaited: the bus finishes starting after this returns.
        _ = busReady.ContinueWith(
            ready =>
            {
                if (ready.IsCompletedSuccessfully)
                {
                    _ready.TrySetResult();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    public Task PreStop(IBus bus) => Task.CompletedTask;

    public Task PostStop(IBus bus) => Task.CompletedTask;

    public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
}
