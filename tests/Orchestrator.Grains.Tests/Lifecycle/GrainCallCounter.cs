using System.Collections.Concurrent;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>Counts the calls each grain receives by interface method, for tests of the messages a change costs.</summary>
public sealed class GrainCallCounter
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Method), int> _calls = new();

    /// <summary>How many calls to <paramref name="method"/> <paramref name="grain"/> has received so far.</summary>
    public int Count(GrainId grain, string method) => _calls.GetValueOrDefault((grain, method));

    /// <summary>The silo's incoming call filter: counts the call, then makes it.</summary>
    public async Task CountAsync(IIncomingGrainCallContext context)
    {
        _calls.AddOrUpdate((context.TargetId, context.InterfaceMethod.Name), 1, (_, count) => count + 1);
        await context.Invoke();
    }
}
