using Microsoft.Extensions.Options;
using Orchestrator.Grains.Experiments;

namespace Orchestrator.Grains.Tests.Experiments;

public sealed class CreationGateTests
{
    [Fact]
    public async Task Creations_past_the_limit_wait_for_a_slot_and_a_slot_given_back_twice_counts_once()
    {
        using var gate = new CreationGate(Options.Create(new ExperimentOptions { ConcurrentCreations = 2 }));
        var first = await gate.EnterAsync();
        var second = await gate.EnterAsync();

        var third = gate.EnterAsync();
        var fourth = gate.EnterAsync();
        Assert.False(third.IsCompleted);

        first.Dispose();
        first.Dispose();
        Assert.Same(third, await Task.WhenAny(third, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.False(fourth.IsCompleted);

        second.Dispose();
        Assert.Same(fourth, await Task.WhenAny(fourth, Task.Delay(TimeSpan.FromSeconds(10))));
    }
}
