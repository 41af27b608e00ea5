using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners.Gangs;
using VisionLanguage.Training.Distributed;

namespace Trainer.Worker.Tests.Gangs;

/// <summary>A rank's view of the orchestrator's rendezvous store: polling with backoff, the join timeout, a generation that is over.</summary>
public sealed class OrchestratorRendezvousStoreTests
{
    private static readonly GangMember Member = new("run-a2", "exp-1", "pretrain", Rank: 1, WorldSize: 2, Generation: 2);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task A_get_asks_again_with_a_doubling_wait_until_the_key_is_set()
    {
        var orchestrator = new ScriptedRendezvous(RendezvousStatus.Missing, RendezvousStatus.Missing, RendezvousStatus.Missing, RendezvousStatus.Ok);
        var store = new OrchestratorRendezvousStore(Member, orchestrator, _time);

        var pending = store.GetAsync("nccl/unique-id", TimeSpan.FromMinutes(1), CancellationToken.None);
        int[] waits = [50, 100, 200];
        for (var answered = 1; answered <= waits.Length; answered++)
        {
            await orchestrator.WaitForAsync(answered);
            _time.Advance(TimeSpan.FromMilliseconds(waits[answered - 1] - 1));
            Assert.Equal(answered, orchestrator.Gets.Count);
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal([1, 2, 3], await pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, orchestrator.Gets.Count);
        Assert.All(orchestrator.Gets, get => Assert.Equal(("run-a2", "exp-1", "pretrain", 1, "nccl/unique-id"), (get.RunId, get.ExperimentId, get.StageId, get.Rank, get.Key)));
    }

    [Fact]
    public async Task A_key_nobody_sets_times_out_naming_the_key_the_run_and_the_option_to_raise()
    {
        var orchestrator = new ScriptedRendezvous(Enumerable.Repeat(RendezvousStatus.Missing, 100).ToArray());
        var store = new OrchestratorRendezvousStore(Member, orchestrator, _time);

        var pending = store.GetAsync("gloo/0", TimeSpan.FromSeconds(2), CancellationToken.None);
        while (!pending.IsCompleted)
        {
            await orchestrator.WaitForAsync(orchestrator.Gets.Count);
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        var error = await Assert.ThrowsAsync<TimeoutException>(() => pending);
        Assert.Equal(
            "rendezvous key 'gloo/0' of run run-a2 was not set within 2 s: a rank of the gang did not join (raise Worker:Gang:JoinTimeout if ranks start slowly)",
            error.Message);
    }

    [Fact]
    public async Task A_stale_answer_ends_the_rank_as_a_failed_generation_and_a_refusal_says_why()
    {
        var store = new OrchestratorRendezvousStore(Member, new ScriptedRendezvous(RendezvousStatus.Stale, RendezvousStatus.Refused), _time);

        var stale = await Assert.ThrowsAsync<CollectiveFailedException>(() => store.GetAsync("gloo/0", TimeSpan.FromMinutes(1), CancellationToken.None));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.SetAsync("gloo/1", [1], CancellationToken.None));

        Assert.Equal("rendezvous of run run-a2 refused: status Stale", stale.Message);
        Assert.Equal("rendezvous key 'gloo/1' of run run-a2 refused: status Refused", refused.Message);
    }

    /// <summary>Answers each request with the next scripted status; a found key's value is 1, 2, 3.</summary>
    private sealed class ScriptedRendezvous(params RendezvousStatus[] statuses) : IGangRendezvous
    {
        private readonly Queue<RendezvousStatus> _statuses = new(statuses);
        private readonly SemaphoreSlim _asked = new(0);

        public List<RendezvousGet> Gets { get; } = [];

        public Task<RendezvousReply> SetAsync(RendezvousSet request, CancellationToken cancellationToken) => Task.FromResult(Next());

        public Task<RendezvousReply> GetAsync(RendezvousGet request, CancellationToken cancellationToken)
        {
            lock (Gets)
            {
                Gets.Add(request);
            }

            var reply = Next();
            _asked.Release();
            return Task.FromResult(reply);
        }

        /// <summary>Returns once <paramref name="count"/> gets were answered in all.</summary>
        public async Task WaitForAsync(int count)
        {
            while (true)
            {
                lock (Gets)
                {
                    if (Gets.Count >= count)
                    {
                        return;
                    }
                }

                await _asked.WaitAsync(TimeSpan.FromSeconds(10));
            }
        }

        private RendezvousReply Next()
        {
            var status = _statuses.Dequeue();
            return status == RendezvousStatus.Ok
                ? new RendezvousReply { Status = status, Value = [1, 2, 3] }
                : new RendezvousReply { Status = status, Error = $"status {status}" };
        }
    }
}
