using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Tests.Scheduling;

/// <summary>The window of catch-ups a reactivated scheduler sends: bounded, refilled by answers, never held by the silent.</summary>
public sealed class CatchUpQueueTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public void Ten_thousand_listed_experiments_are_asked_a_window_at_a_time_and_each_answer_makes_room_for_one_more()
    {
        var queue = new CatchUpQueue(window: 64, Wait);
        queue.Add(Enumerable.Range(0, 10_000).Select(i => $"exp-{i}"));

        queue.Due(T0, out var first, out var again);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"exp-{i}"), first);
        Assert.Empty(again);
        Assert.Equal(64, queue.InFlight);
        Assert.Equal(10_000 - 64, queue.Waiting);

        // Nothing answered: nothing more goes out, however often asked.
        queue.Due(T0 + TimeSpan.FromSeconds(1), out first, out again);
        Assert.Empty(first);
        Assert.Empty(again);

        Assert.True(queue.Answered("exp-3"));
        Assert.True(queue.Answered("exp-7"));
        queue.Due(T0 + TimeSpan.FromSeconds(2), out first, out again);
        Assert.Equal(["exp-64", "exp-65"], first);
        Assert.Equal(64, queue.InFlight);

        var sent = 66;
        for (var i = 0; i < 10_000; i++)
        {
            if (i is not 3 and not 7)
            {
                Assert.True(queue.Answered($"exp-{i}"));
            }

            queue.Due(T0 + TimeSpan.FromSeconds(3), out first, out _);
            sent += first.Count;
            Assert.True(queue.InFlight <= 64);
        }

        Assert.Equal(10_000, sent);
        Assert.True(queue.Idle);
    }

    [Fact]
    public void A_catch_up_not_answered_in_time_leaves_the_window_and_is_sent_again_waiting_longer_each_time()
    {
        var queue = new CatchUpQueue(window: 2, Wait);
        queue.Add(["silent", "quick", "next", "last"]);
        queue.Due(T0, out var first, out _);
        Assert.Equal(["silent", "quick"], first);
        Assert.True(queue.Answered("quick"));

        queue.Due(T0 + Wait - TimeSpan.FromTicks(1), out first, out var again);
        Assert.Equal(["next"], first);
        Assert.Empty(again);

        // Overdue: asked again, and out of the window, so the last one goes out beside it.
        queue.Due(T0 + Wait, out first, out again);
        Assert.Equal(["silent"], again);
        Assert.Equal(["last"], first);
        Assert.Equal(2, queue.InFlight);
        Assert.Equal(3, queue.Unanswered);

        // Its second wait is twice the first; the other two are overdue after their first.
        queue.Due(T0 + Wait + (Wait * 2) - TimeSpan.FromTicks(1), out _, out again);
        Assert.Equal(["last", "next"], again.Order(StringComparer.Ordinal));
        queue.Due(T0 + Wait + (Wait * 2), out _, out again);
        Assert.Equal(["silent"], again);

        Assert.True(queue.Answered("silent"));
        Assert.Equal(0, queue.InFlight);
        Assert.False(queue.Answered("silent"));
        Assert.False(queue.Idle);
    }

    [Fact]
    public void An_experiment_listed_again_while_waiting_or_unanswered_is_asked_once()
    {
        var queue = new CatchUpQueue(window: 1, Wait);
        queue.Add(["a", "b"]);
        queue.Due(T0, out var first, out _);
        Assert.Equal(["a"], first);

        queue.Add(["a", "b", "c"]);
        Assert.Equal(2, queue.Waiting);
        Assert.True(queue.Answered("a"));
        queue.Due(T0, out first, out _);
        Assert.Equal(["b"], first);

        // Answered, then listed again by a later round: asked again.
        queue.Add(["a"]);
        Assert.Equal(2, queue.Waiting);
    }
}
