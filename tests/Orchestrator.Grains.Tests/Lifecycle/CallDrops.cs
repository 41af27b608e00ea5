namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// Loses calls on purpose, as a crash or a failed delivery loses a one-way message: a test names the grain, the method
/// and which of its calls, and the next such call is swallowed before the grain sees it. The silo's incoming call filter.
/// </summary>
public sealed class CallDrops
{
    private readonly Lock _lock = new();
    private readonly List<Drop> _drops = [];

    /// <summary>
    /// Swallows the next call of <paramref name="method"/> to <paramref name="grain"/> whose arguments
    /// <paramref name="match"/> accepts; the task completes once one has been swallowed.
    /// </summary>
    public Task DropNext(GrainId grain, string method, Func<object?[], bool>? match = null)
    {
        var drop = new Drop(grain, method, match ?? (_ => true), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            _drops.Add(drop);
        }

        return drop.Dropped.Task;
    }

    public async Task FilterAsync(IIncomingGrainCallContext context)
    {
        Drop? dropped = null;
        lock (_lock)
        {
            if (_drops.Count > 0)
            {
                var arguments = Enumerable.Range(0, context.Request.GetArgumentCount()).Select(context.Request.GetArgument).ToArray();
                dropped = _drops.FirstOrDefault(drop =>
                    drop.Grain == context.TargetId && drop.Method == context.InterfaceMethod.Name && drop.Match(arguments));
                if (dropped is not null)
                {
                    _drops.Remove(dropped);
                }
            }
        }

        if (dropped is not null)
        {
            dropped.Dropped.TrySetResult();
            return;
        }

        await context.Invoke();
    }

    private sealed record Drop(GrainId Grain, string Method, Func<object?[], bool> Match, TaskCompletionSource Dropped);
}
