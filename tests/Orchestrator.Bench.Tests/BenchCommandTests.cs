using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Tests;

/// <summary>
/// <c>bench</c> as the benchmark is run (docs/benchmarks.md), small: every stage of every experiment is dispatched
/// once and ends Succeeded, in memory and through a real broker, where the simulated workers
/// acknowledge each run on accept and publish their reports back like real workers; and <c>bench alias-bomb</c>
/// against a standalone host in a child process.
/// </summary>
public sealed class BenchCommandTests
{
    private const int Experiments = 20;
    private const int StagesPerExperiment = 7;

    [Fact]
    public async Task The_in_memory_bench_dispatches_every_stage_once_and_prints_its_figures()
    {
        var figures = await BenchAsync();

        Assert.Equal("inmemory", figures["transport"]!.GetValue<string>());
        Assert.Equal(Experiments * StagesPerExperiment * 3, figures["transitions"]!.GetValue<long>());

        // No broker, so no broker leg and no confirmed start to time.
        Assert.Null(figures["whole_path_p99_ms"]);
        Assert.Null(figures["broker_leg_p99_ms"]);
    }

    [ServerFact(TestServers.RabbitMq, TestServers.RabbitMqCtl)]
    public async Task The_bench_through_RabbitMQ_dispatches_every_stage_once_and_prints_its_figures()
    {
        var vhost = $"bench-{Guid.NewGuid():N}";
        await RabbitMqControl.RunAsync("add_vhost", vhost);
        await RabbitMqControl.RunAsync("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
        try
        {
            var broker = new UriBuilder(TestServers.Get(TestServers.RabbitMq)) { Path = vhost }.Uri;
            var figures = await BenchAsync("--transport", "rabbitmq", "--rabbitmq", broker.ToString());

            Assert.Equal("rabbitmq", figures["transport"]!.GetValue<string>());

            // Over the broker a run's completed report can overtake its started one (reports are consumed
            // concurrently); the stage then goes from Queued straight to Succeeded, one transition fewer.
            Assert.InRange(figures["transitions"]!.GetValue<long>(), Experiments * StagesPerExperiment * 2, Experiments * StagesPerExperiment * 3);

            // The broker leg (the dispatcher's publish → the simulated worker's handler) of every start; the whole path (a
            // completed report consumed → the next stage's start confirmed) of every stage a report made ready: all but the root.
            Assert.Equal(Experiments * StagesPerExperiment, figures["broker_legs"]!.GetValue<int>());
            Assert.Equal(Experiments * (StagesPerExperiment - 1), figures["whole_paths"]!.GetValue<int>());
            AssertOrdered(figures, "broker_leg");
            AssertOrdered(figures, "whole_path");

            // And the whole path's parts: the grains up to the hand-off, the outbox, the publish until its confirm.
            Assert.All(["report_to_handoff_p99_ms", "outbox_wait_p99_ms", "confirm_p99_ms"], part => Assert.True(figures[part]!.GetValue<double>() >= 0, part));
        }
        finally
        {
            await RabbitMqControl.RunAsync("delete_vhost", vhost);
        }
    }

    /// <summary>
    /// Durable mode against Azurite: runs that last two seconds, a progress report every second and a checkpoint every two,
    /// and every storage request the silo sends attributed to the report or transition that caused it.
    /// </summary>
    [ServerFact(TestServers.Azurite)]
    public async Task The_durable_bench_keeps_its_state_in_azure_storage_and_counts_requests_per_transition_and_per_report()
    {
        using var lease = await AzuriteControl.ShareAsync();
        var figures = await BenchAsync(
            "--storage", TestServers.Get(TestServers.Azurite), "--run-seconds", "2", "--progress-seconds", "1", "--checkpoint-seconds", "2");

        Assert.Equal("azure", figures["storage"]!.GetValue<string>());
        Assert.Equal(Experiments * StagesPerExperiment * 3, figures["transitions"]!.GetValue<long>());
        Assert.Equal(Experiments * StagesPerExperiment * 2, figures["progress_reports"]!.GetValue<long>());
        Assert.Equal(Experiments * StagesPerExperiment, figures["checkpoint_reports"]!.GetValue<long>());
        Assert.Equal(0, figures["storage_errors"]!.GetValue<long>());

        // A progress or checkpoint report writes its stage once; a transition costs a stage write and its share of the
        // rest (the experiment's, the index's, the reminders').
        Assert.Equal(1.0, figures["storage_requests_per_progress_report"]!.GetValue<double>());
        Assert.Equal(1.0, figures["storage_requests_per_checkpoint_report"]!.GetValue<double>());
        Assert.InRange(figures["storage_requests_per_transition"]!.GetValue<double>(), 1.0, 5.0);
        var byState = figures["storage_requests_by_state"]!.AsObject();
        Assert.True(byState["blob/stage"]!.GetValue<long>() > 0 && byState["blob/experiment"]!.GetValue<long>() > 0 && byState["table/membership"]!.GetValue<long>() > 0, byState.ToJsonString());
    }

    [Fact]
    public async Task The_alias_bomb_bench_gets_a_400_from_a_standalone_host_in_a_child_process_and_prints_its_figures()
    {
        var (exitCode, lines, _) = await BuiltHosts.RunAsync(BuiltHosts.Bench, "bench", "alias-bomb");

        Assert.Equal(0, exitCode);
        var figures = JsonNode.Parse(lines[^1])!;
        Assert.Equal(400, figures["status"]!.GetValue<int>());
        Assert.Equal("answered", figures["outcome"]!.GetValue<string>());
        Assert.Equal(9, figures["levels"]!.GetValue<int>());
        Assert.True(figures["rss_before_mb"]!.GetValue<double>() > 0);
        Assert.StartsWith("alias-bomb: 529 bytes, 9 levels x 9", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_live_bench_keeps_every_experiment_waiting_creates_the_burst_exactly_once_and_prints_its_figures()
    {
        var (exitCode, lines, errors) = await BuiltHosts.RunAsync(
            BuiltHosts.Bench, "bench", "live", "--levels", "20,40", "--warmup-posts", "5", "--posts", "10", "--burst", "50", "--burst-clients", "8", "--idle-seconds", "1");

        Assert.True(exitCode == 0, errors);
        var figures = JsonNode.Parse(lines[^1])!;
        // 40 live at the last level (the 5 warm-up POSTs and the first level's 10 timed ones among them), its own 10 POSTs,
        // then 50 in the burst: each created once.
        Assert.Equal(40 + 10 + 50, figures["live_experiments"]!.GetValue<int>());
        Assert.Equal(0, figures["burst_500"]!.GetValue<int>());
        Assert.Equal(50, figures["burst"]!["created"]!.GetValue<int>());
        Assert.Equal([20, 40], figures["levels"]!.AsArray().Select(level => level!["live_experiments"]!.GetValue<int>()));
        Assert.Equal("server", figures["gc"]!.GetValue<string>());
        Assert.True(figures["peak_rss_bytes"]!.GetValue<long>() > 0);
        var (p50, p99, max) = (figures["post_p50_ms"]!.GetValue<double>(), figures["post_p99_ms"]!.GetValue<double>(), figures["post_max_ms"]!.GetValue<double>());
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"POST p50 {p50}, p99 {p99}, max {max} ms");
        Assert.InRange(figures["idle_cpu_share"]!.GetValue<double>(), 0.0, 2.0);
        Assert.True(figures["burst_dispatch_p99_ms"] is not null, "the runnable experiments beside the burst were dispatched");
    }

    [Fact]
    public async Task The_recovery_bench_gets_every_run_back_places_on_the_new_workers_and_none_twice()
    {
        var (exitCode, lines, errors) = await BuiltHosts.RunAsync(
            BuiltHosts.Bench, "bench", "recover", "--experiments", "60", "--workers", "2", "--slots", "3");

        Assert.True(exitCode == 0, errors);
        var figures = JsonNode.Parse(lines[^1])!;
        Assert.Equal(60, figures["live_experiments"]!.GetValue<int>());
        Assert.Equal(2 * 3, figures["runs_placed"]!.GetValue<int>());
        Assert.Equal(0, figures["runs_placed_twice"]!.GetValue<int>());
        var (first, all) = (figures["first_assignment_s"]!.GetValue<double>(), figures["all_announced_s"]!.GetValue<double>());
        Assert.True(first > 0 && all > 0, $"first assignment {first} s, all announced {all} s");
    }

    /// <summary>Runs the bench and checks what any transport must print; returns the figures.</summary>
    private static async Task<JsonNode> BenchAsync(params string[] transport)
    {
        var (exitCode, lines, _) = await BuiltHosts.RunAsync(BuiltHosts.Bench, ["bench", "--experiments", $"{Experiments}", .. transport]);

        Assert.Equal(0, exitCode);
        var figures = JsonNode.Parse(lines[^1])!;
        Assert.Equal(Experiments * StagesPerExperiment, figures["stages"]!.GetValue<int>());
        Assert.Equal(Experiments * StagesPerExperiment, figures["dispatches"]!.GetValue<int>());
        AssertOrdered(figures, "dispatch");
        Assert.Contains(figures["gc"]!.GetValue<string>(), new[] { "server", "workstation" });
        Assert.True(figures["runs_outstanding_max"]!.GetValue<long>() > 0);
        return figures;
    }

    /// <summary>A latency's p50, p99 and max (<paramref name="name"/>_p50_ms …) are positive and in order.</summary>
    private static void AssertOrdered(JsonNode figures, string name)
    {
        var (p50, p99, max) = (figures[$"{name}_p50_ms"]!.GetValue<double>(), figures[$"{name}_p99_ms"]!.GetValue<double>(), figures[$"{name}_max_ms"]!.GetValue<double>());
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"{name} p50 {p50}, p99 {p99}, max {max} ms");
    }
}
