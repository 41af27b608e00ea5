using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.Telemetry;

namespace Orchestrator.Standalone.Tests.Observability;

/// <summary>
/// One trace per stage run: dispatch in the scheduler, the run on the worker, the reports back in the orchestrator.
/// In a collection of its own, run alone, as it was among the silo's end-to-end tests: each test starts a host with a
/// worker training in it, and one uses the shared broker.
/// </summary>
[Collection(RunTraceCollection.Name)]
public sealed class RunTraceTests : IDisposable
{
    private static readonly string Dag = SmallDags.TwoDatasetsInARow("traces-test");

    /// <summary>What an exporter would listen to: ours, MassTransit's (it carries the context in message headers), Orleans' and ASP.NET Core's.</summary>
    private static readonly string[] Sources = ["Orchestrator", "Trainer.Worker", "MassTransit", "Microsoft.Orleans.Application", "Microsoft.AspNetCore"];

    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public RunTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => Sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [Fact]
    public async Task The_worker_run_and_the_reports_continue_the_trace_of_the_runs_dispatch_which_links_to_the_submission()
    {
        using var host = new StandaloneHost();
        await AssertOneTracePerRunAsync(host);
    }

    /// <summary>
    /// The same over a real broker: the trace context crosses RabbitMQ in the messages' headers both ways (dispatch to
    /// the worker, reports to the orchestrator), not in memory. The worker runs in the silo's process, so one listener
    /// sees both sides, but each message is consumed from a RabbitMQ queue.
    /// </summary>
    [ServerFact(TestServers.RabbitMq, TestServers.RabbitMqCtl)]
    public async Task Over_RabbitMQ_the_worker_run_and_the_reports_continue_the_trace_of_the_runs_dispatch()
    {
        await using var vhost = await RabbitMqVhost.CreateAsync("traces");
        using var host = StandaloneHost.With(new Dictionary<string, string?> { ["Transport:Kind"] = "RabbitMq", ["Transport:RabbitMq"] = vhost.Broker.ToString() });
        Assert.Equal("rabbitmq", host.Services.GetRequiredService<IBus>().Address.Scheme);
        await AssertOneTracePerRunAsync(host);
    }

    public void Dispose() => _listener.Dispose();

    private async Task AssertOneTracePerRunAsync(StandaloneHost host)
    {
        var submission = ActivityTraceId.CreateRandom();
        var id = await host.SubmitAsync(Dag, request => request.Headers.Add("traceparent", $"00-{submission}-{ActivitySpanId.CreateRandom()}-01"));
        await host.ReadEventsAsync(id, TimeSpan.FromMinutes(2));
        var view = await host.GetAsync(id);
        var runs = view["stages"]!.AsArray()
            .Select(stage => (Stage: stage!["id"]!.GetValue<string>(), Run: stage["attempts"]!.AsArray().Single()!["runId"]!.GetValue<string>()))
            .ToList();

        foreach (var (stage, run) in runs)
        {
            // The worker's run activity stops once its final report is out, which can be just after the experiment ended.
            var activities = await ActivitiesOfAsync(run, a => a.Source.Name == "Trainer.Worker" && HasReport(run, "report StageRunCompleted"));

            var dispatch = Assert.Single(activities, a => a.Source.Name == "Orchestrator" && a.DisplayName == $"run {stage}");
            Assert.Equal(default, dispatch.ParentSpanId);
            Assert.Equal(submission, Assert.Single(dispatch.Links).Context.TraceId);
            AssertIds(dispatch, id, stage, run);

            var worker = Assert.Single(activities, a => a.Source.Name == "Trainer.Worker");
            Assert.Equal(dispatch.TraceId, worker.TraceId);
            AssertIds(worker, id, stage, run);

            var reports = activities.Where(a => a.Source.Name == "Orchestrator" && a.DisplayName.StartsWith("report ", StringComparison.Ordinal)).ToList();
            Assert.Contains(reports, a => a.DisplayName == "report StageRunStarted");
            Assert.Contains(reports, a => a.DisplayName == "report StageRunCompleted");
            Assert.All(reports, report =>
            {
                Assert.Equal(dispatch.TraceId, report.TraceId);
                AssertIds(report, id, stage, run);
            });
        }

        Assert.NotEqual(_stopped.Single(a => a.DisplayName == $"run {runs[0].Stage}" && a.Source.Name == "Orchestrator" && Tag(a, RunTelemetry.RunId) == runs[0].Run).TraceId,
            _stopped.Single(a => a.DisplayName == $"run {runs[1].Stage}" && a.Source.Name == "Orchestrator" && Tag(a, RunTelemetry.RunId) == runs[1].Run).TraceId);
    }

    private static void AssertIds(Activity activity, string experimentId, string stageId, string runId)
    {
        Assert.Equal(experimentId, Tag(activity, RunTelemetry.ExperimentId));
        Assert.Equal(stageId, Tag(activity, RunTelemetry.StageId));
        Assert.Equal(runId, Tag(activity, RunTelemetry.RunId));
    }

    private static string? Tag(Activity activity, string name) => activity.GetTagItem(name) as string;

    private bool HasReport(string run, string name) => _stopped.Any(a => a.DisplayName == name && Tag(a, RunTelemetry.RunId) == run);

    /// <summary>The stopped activities tagged with the run, once <paramref name="complete"/> holds for one of them (within 30 s).</summary>
    private async Task<List<Activity>> ActivitiesOfAsync(string run, Func<Activity, bool> complete)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var activities = _stopped.Where(a => Tag(a, RunTelemetry.RunId) == run).ToList();
            if (activities.Any(complete) || DateTime.UtcNow > deadline)
            {
                return activities;
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>Runs <see cref="RunTraceTests"/> alone: each of its tests trains in a host of its own on a two-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunTraceCollection
{
    public const string Name = "Run traces";
}
