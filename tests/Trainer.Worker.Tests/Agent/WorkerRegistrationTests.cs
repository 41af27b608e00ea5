using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Tests.Agent;

public sealed class WorkerRegistrationTests
{
    [Fact]
    public async Task Registers_on_start_then_sends_a_heartbeat_every_interval_listing_its_active_runs()
    {
        await using var worker = await WorkerHarness.StartAsync();
        var start = worker.Time.GetUtcNow();

        var registration = await worker.PublishedAsync<RegisterWorker>();
        Assert.Equal(WorkerHarness.WorkerId, registration.WorkerId);
        Assert.Equal(start, registration.SentAt);
        Assert.Equal(1, registration.Capacity.Slots);
        Assert.Equal("cpu", registration.Capacity.Device);
        Assert.Equal("test cpu", registration.Capacity.DeviceName);
        Assert.Equal(4.0, registration.Capacity.MemoryGib);
        Assert.Equal("test", Assert.Single(registration.Capacity.Labels, label => label.Key == "zone").Value);
        Assert.Single(registration.Capacity.Labels);

        // The kinds it has runners for: here the one scripted runner, which stands in for dataset.synthetic.
        Assert.Equal(["dataset.synthetic"], registration.Capacity.StageKinds);

        worker.Time.Advance(WorkerHarness.HeartbeatInterval);
        var idle = await worker.HeartbeatAsync(1);
        Assert.Equal(WorkerHarness.WorkerId, idle.WorkerId);
        Assert.Equal(start + WorkerHarness.HeartbeatInterval, idle.SentAt);
        Assert.Empty(idle.ActiveRunIds);
        Assert.Equal(registration.Capacity, idle.Capacity);

        worker.Script.HoldBeforeStep = 1;
        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        worker.Time.Advance(WorkerHarness.HeartbeatInterval);
        var busy = await worker.HeartbeatAsync(2);
        Assert.Equal(start + 2 * WorkerHarness.HeartbeatInterval, busy.SentAt);
        Assert.Equal(["run-1"], busy.ActiveRunIds);

        worker.Script.Gate("run-1").Release.SetResult();
        await worker.RunEndedAsync("run-1");
        worker.Time.Advance(WorkerHarness.HeartbeatInterval);
        var done = await worker.HeartbeatAsync(3);
        Assert.Equal(start + 3 * WorkerHarness.HeartbeatInterval, done.SentAt);
        Assert.Empty(done.ActiveRunIds);
        Assert.Single(worker.PublishedSoFar<RegisterWorker>());
    }
}
