using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Grains.Experiments;

namespace Orchestrator.Grains.Tests.Experiments;

public sealed class CreationGateTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Creations_past_the_limit_wait_for_a_slot_and_a_slot_given_back_twice_counts_once()
    {
        using var gate = Gate(new ExperimentOptions { ConcurrentCreations = 2 });
        var first = (await gate.TryEnterAsync()).Slot!;
        var second = (await gate.TryEnterAsync()).Slot!;

        var third = gate.TryEnterAsync();
        var fourth = gate.TryEnterAsync();
        Assert.False(third.IsCompleted);

        first.Dispose();
        first.Dispose();
        Assert.Same(third, await Task.WhenAny(third, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.False(fourth.IsCompleted);

        second.Dispose();
        Assert.Same(fourth, await Task.WhenAny(fourth, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.NotNull((await third).Slot);
        Assert.NotNull((await fourth).Slot);
    }

    [Fact]
    public async Task A_creation_that_would_find_the_line_full_is_refused_at_once_and_takes_no_place_in_it()
    {
        using var gate = Gate(new ExperimentOptions { ConcurrentCreations = 1, MaxQueuedCreations = 3 });
        using var running = (await gate.TryEnterAsync()).Slot!;
        var waiting = new[] { gate.TryEnterAsync(), gate.TryEnterAsync() };

        var refused = await gate.TryEnterAsync();

        Assert.Null(refused.Slot);
        // Three ahead of it at the first guess of 20 ms each.
        Assert.Equal(0.060, refused.RetryAfter.TotalSeconds, 9);
        Assert.Equal(3, gate.Admitted);
        Assert.All(waiting, task => Assert.False(task.IsCompleted));
    }

    [Fact]
    public async Task A_creation_that_would_wait_past_the_bound_at_the_pace_measured_is_refused_with_that_wait()
    {
        using var gate = Gate(new ExperimentOptions { ConcurrentCreations = 1, MaxCreationWait = TimeSpan.FromSeconds(1) });
        using (var slow = (await gate.TryEnterAsync()).Slot!)
        {
            _time.Advance(TimeSpan.FromSeconds(2));
        }

        // The pace is now 0.02 + 0.2 × (2 − 0.02) = 0.416 s a creation: two ahead wait 0.832 s, three 1.248 s.
        using var running = (await gate.TryEnterAsync()).Slot!;
        var second = gate.TryEnterAsync();
        var third = gate.TryEnterAsync();
        var refused = await gate.TryEnterAsync();

        Assert.Null(refused.Slot);
        Assert.Equal(1.248, refused.RetryAfter.TotalSeconds, 9);
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);
    }

    private CreationGate Gate(ExperimentOptions options) => new(Options.Create(options), _time);
}
