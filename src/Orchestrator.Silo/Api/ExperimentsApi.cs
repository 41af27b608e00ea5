using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Stages;
using Orchestrator.Silo.Events;
using Orchestrator.Silo.Hosting;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Api;

/// <summary><c>/api/v1/experiments</c>: submit, list, inspect, watch, cancel, resume and rerun experiments.</summary>
public static class ExperimentsApi
{
    public const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapExperimentsApiV1(this IEndpointRouteBuilder app)
    {
        // Each endpoint states its policy: a policy on the group would be required on top of the endpoint's.
        // A request the grains cannot serve now (storage unreachable, no answer in time) gets 503 with Retry-After, never 500.
        var api = app.MapGroup("/api/v1/experiments").WithTags("Experiments").AddEndpointFilter<Unavailable>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // No Accepts metadata: it would make routing answer other content types with a bare 415, not our problem details.
        api.MapPost("/", CreateAsync)
            .RequireAuthorization(SecurityHostingExtensions.Submit)
            .WithDescription("The body is the experiment DAG as application/json or application/yaml (1 MiB at most); GET /api/v1/stage-kinds lists the kinds and their options.")
            .WithSummary("Submit an experiment DAG (JSON or YAML). An Idempotency-Key header makes a retried POST return the same experiment.");
        api.MapGet("/", ListAsync).RequireAuthorization(SecurityHostingExtensions.Read)
            .WithSummary("List experiments newest first, optionally of one status and one label; page with cursor (or offset).")
            .WithDescription("""
                Query: `status` (an experiment status), `label=NAME:VALUE` (experiments whose spec labels NAME with VALUE; split
                at the first colon), `limit` (1 to 500, default 50), and either `cursor` (the `nextCursor` of the previous page,
                sent with the same filters) or `offset` (matches to skip). The answer has `items` (each with its `labels`),
                `total` (how many match), `offset` (how many matches come before this page), `limit`, and `nextCursor` (null on
                the last page). A cursor is opaque; one this API did not give out, or given with other filters, is a 400.
                """);
        api.MapGet("/{id}", GetAsync).RequireAuthorization(SecurityHostingExtensions.Read).WithSummary("An experiment with every stage: status, attempts, outputs, progress and metrics.");
        api.MapPost("/{id}/cancel", CancelAsync).RequireAuthorization(SecurityHostingExtensions.SubmitOrOperate)
            .WithSummary("Cancel active runs and skip stages that have not run. Needs 'operate', or 'submit' for one's own experiment.");
        api.MapPost("/{id}/resume", ResumeAsync).RequireAuthorization(SecurityHostingExtensions.SubmitOrOperate)
            .WithSummary("Re-run failed and cancelled stages from their last checkpoints. Needs 'operate', or 'submit' for one's own experiment.");
        api.MapPost("/{id}/stages/{stageId}/rerun", RerunAsync).RequireAuthorization(SecurityHostingExtensions.SubmitOrOperate)
            .WithSummary("Re-run a stage and everything downstream, reusing upstream outputs. Needs 'operate', or 'submit' for one's own experiment.");
        api.MapGet("/{id}/lineage", LineageAsync).RequireAuthorization(SecurityHostingExtensions.Read).WithSummary("Which artifact came from which stage run and which inputs.");
        api.MapGet("/{id}/events", EventsAsync)
            .RequireAuthorization(SecurityHostingExtensions.Read)
            .WithSummary("Live events as server-sent events: the experiment's current state, then every status change and progress report until it ends.")
            .WithDescription("""
                text/event-stream. Each event has an `id:` (its number on this connection), an `event:` type and JSON `data:` (an ExperimentEvent):
                `experiment` (the experiment's status), `stage` (a stage's status, with its version, run, attempt and error) and
                `progress` (a running stage's step, total, epoch, samples/s and ETA). The stream starts with the current state of every
                stage and of the experiment, and ends after an `experiment` event with a final status (Succeeded, Failed or Cancelled);
                a client that connects after the end gets that state and the stream closes. A reconnecting client starts over from the
                current state, so it needs no Last-Event-ID. A stream quiet for Orchestrator:EventKeepAlive (15 s) gets a `keep-alive`
                event with empty data and no id, so proxies keep an idle connection open.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Created<ExperimentView>, ProblemHttpResult>> CreateAsync(
        HttpRequest request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, ExperimentSubmitter submitter, ClaimsPrincipal user)
    {
        if (idempotencyKey is { Length: 0 or > ExperimentIds.MaxIdempotencyKeyLength })
        {
            return Problems.BadRequest($"The Idempotency-Key header must be 1 to {ExperimentIds.MaxIdempotencyKeyLength} characters; send a unique value such as a UUID.");
        }

        var body = await SpecBody.ReadAsync(request);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        // Bounded inside: creating an experiment may take longer than other writes (Unavailable.CreationDeadline).
        var submitted = await submitter.SubmitAsync(body.Text, body.Format, idempotencyKey, user.CallerId());
        switch (submitted.Outcome)
        {
            case null when submitted.ExceededLimit is not null:
                ApiMetrics.Rejected(ApiMetrics.SpecBudget);
                return Problems.InvalidSpec(submitted.Errors);
            case null:
                return Problems.InvalidSpec(submitted.Errors);
            case CreateOutcome.Conflict:
                return Problems.Conflict(
                    $"The Idempotency-Key '{idempotencyKey}' was already used for experiment {submitted.ExperimentId} with a different spec; use a new key for a new experiment.");
            case CreateOutcome.AlreadyExisted:
                request.HttpContext.Response.Headers["Idempotent-Replayed"] = "true";
                break;
            case CreateOutcome.Busy:
                var seconds = (int)Math.Ceiling(Math.Max(1, submitted.RetryAfter.TotalSeconds));
                request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                ApiMetrics.Rejected(ApiMetrics.CreationsBusy);
                return Problems.Unavailable(
                    $"The orchestrator is creating other experiments and the line is full; nothing was created. Retry after {seconds} s " +
                    "with the same Idempotency-Key, which creates the experiment once however often it is sent.");
        }

        return TypedResults.Created($"/api/v1/experiments/{submitted.ExperimentId}", submitted.View!);
    }

    private static async Task<Results<Ok<ExperimentPage>, ProblemHttpResult>> ListAsync(
        string? status, [FromQuery] string[]? label, string? offset, string? limit, string? cursor, IGrainFactory grains)
    {
        ExperimentStatus? statusFilter = null;
        if (status is not null)
        {
            if (!Enum.TryParse<ExperimentStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
            {
                return Problems.BadRequest($"status '{status}' is not an experiment status; use one of {string.Join(", ", Enum.GetNames<ExperimentStatus>())}.");
            }

            statusFilter = parsed;
        }

        var query = new ExperimentQuery { Status = statusFilter };
        if (label is { Length: > 0 })
        {
            if (label.Length > 1)
            {
                return Problems.BadRequest($"label was given {label.Length} times; a listing filters by one label, as label=NAME:VALUE (e.g. label=team:vision).");
            }

            var colon = label[0].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return Problems.BadRequest($"label '{label[0]}' must be NAME:VALUE, a label of the spec's labels and its value, e.g. label=team:vision.");
            }

            query = query with { LabelName = label[0][..colon], LabelValue = label[0][(colon + 1)..] };
        }

        if (!TryParsePaging(offset, "offset", 0, 0, int.MaxValue, out var skip, out var problem)
            || !TryParsePaging(limit, "limit", 50, 1, MaxPageSize, out var take, out problem))
        {
            return problem!;
        }

        ExperimentListPosition? after = null;
        if (cursor is not null)
        {
            if (offset is not null)
            {
                return Problems.BadRequest("offset and cursor were both given; send cursor alone (the nextCursor of the previous page), or offset alone.");
            }

            if (!ExperimentListCursor.TryDecode(cursor, query, out after, out var cursorProblem))
            {
                return Problems.BadRequest(cursorProblem!);
            }
        }

        var listing = await Unavailable.Bounded(ExperimentIndex.ListAsync(grains, query, after, skip, take));
        return TypedResults.Ok(new ExperimentPage
        {
            Items = listing.Items,
            Total = listing.Total,
            Offset = listing.Offset,
            Limit = take,
            NextCursor = listing.Next is { } next ? ExperimentListCursor.Encode(next, query) : null,
        });
    }

    private static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains) =>
        Experiment(id, grains) is { } experiment && await Unavailable.Bounded(experiment.GetAsync()) is { } view
            ? TypedResults.Ok(view)
            : NoSuchExperiment(id);

    private static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> CancelAsync(string id, IGrainFactory grains, ClaimsPrincipal user)
    {
        if (Experiment(id, grains) is not { } experiment || await Unavailable.Bounded(experiment.GetAsync()) is not { } before)
        {
            return NoSuchExperiment(id);
        }

        if (NotTheCallers(before, user, "cancelling") is { } forbidden)
        {
            return forbidden;
        }

        if (before.Status is ExperimentStatus.Succeeded or ExperimentStatus.Cancelled)
        {
            return Problems.Conflict($"Experiment {id} already ended as {before.Status}; there is nothing to cancel.");
        }

        return TypedResults.Ok((await Unavailable.Bounded(experiment.CancelAsync()))!);
    }

    private static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> ResumeAsync(string id, IGrainFactory grains, ClaimsPrincipal user)
    {
        if (Experiment(id, grains) is not { } experiment || await Unavailable.Bounded(experiment.GetAsync()) is not { } before)
        {
            return NoSuchExperiment(id);
        }

        if (NotTheCallers(before, user, "resuming") is { } forbidden)
        {
            return forbidden;
        }

        if (!before.Stages.Any(stage => stage.Status is StageStatus.Failed or StageStatus.Cancelled or StageStatus.Skipped))
        {
            return Problems.Conflict($"Experiment {id} is {before.Status} and has no failed, cancelled or skipped stage; there is nothing to resume.");
        }

        return TypedResults.Ok((await Unavailable.Bounded(experiment.ResumeAsync()))!);
    }

    private static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> RerunAsync(string id, string stageId, IGrainFactory grains, ClaimsPrincipal user)
    {
        if (Experiment(id, grains) is not { } experiment || await Unavailable.Bounded(experiment.GetAsync()) is not { } before)
        {
            return NoSuchExperiment(id);
        }

        if (NotTheCallers(before, user, "rerunning a stage of") is { } forbidden)
        {
            return forbidden;
        }

        if (before.Stages.All(stage => stage.Id != stageId))
        {
            return Problems.NotFound($"Experiment {id} has no stage '{stageId}'; its stages are: {string.Join(", ", before.Stages.Select(stage => stage.Id))}.");
        }

        return TypedResults.Ok((await Unavailable.Bounded(experiment.RerunStageAsync(stageId)))!);
    }

    private static async Task<Results<Ok<LineageView>, ProblemHttpResult>> LineageAsync(string id, IGrainFactory grains) =>
        Experiment(id, grains) is { } experiment && await Unavailable.Bounded(experiment.GetLineageAsync()) is { } lineage
            ? TypedResults.Ok(lineage)
            : NoSuchExperiment(id);

    private static async Task<Results<ServerSentEventsResult<ExperimentEvent?>, ProblemHttpResult>> EventsAsync(
        string id, ExperimentEventFeed feed, IOptions<OrchestratorOptions> options, [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
        HttpContext context)
    {
        if (!ExperimentIds.IsWellFormed(id) || !await feed.ExistsAsync(id))
        {
            return NoSuchExperiment(id);
        }

        var events = feed.ReadAsync(id, context.RequestAborted);
        return TypedResults.ServerSentEvents(ServerSentEvents(events, options.Value.EventKeepAlive, time, context.RequestAborted));
    }

    /// <summary>The name of the event a quiet stream gets every <see cref="OrchestratorOptions.EventKeepAlive"/>; it has no data and no id.</summary>
    public const string KeepAliveEvent = "keep-alive";

    /// <summary>Numbers the events; when none has come for <paramref name="keepAlive"/>, sends a keep-alive (without a number).</summary>
    private static async IAsyncEnumerable<SseItem<ExperimentEvent?>> ServerSentEvents(
        IAsyncEnumerable<ExperimentEvent> events, TimeSpan keepAlive, TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var number = 0;
        var reader = events.GetAsyncEnumerator(cancellationToken);
        var next = reader.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var wait = Task.Delay(keepAlive, time, quiet.Token);
                    var first = await Task.WhenAny(next, wait);
                    await quiet.CancelAsync();
                    if (first != next)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return new SseItem<ExperimentEvent?>(null, KeepAliveEvent);
                        continue;
                    }
                }

                if (!await next)
                {
                    yield break;
                }

                var change = reader.Current;
                yield return new SseItem<ExperimentEvent?>(change, change.Type.ToString().ToLowerInvariant())
                {
                    EventId = (++number).ToString(CultureInfo.InvariantCulture),
                };
                next = reader.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // An async iterator must not be disposed while a MoveNextAsync is pending: the request's end cancels it.
            await next.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await reader.DisposeAsync();
        }
    }

    /// <summary>A 403 unless the caller may operate on anyone's experiments or submitted this one.</summary>
    private static ProblemHttpResult? NotTheCallers(ExperimentView experiment, ClaimsPrincipal user, string action)
    {
        if (user.HasScope(Scopes.Operate) || experiment.SubmittedBy == user.CallerId())
        {
            return null;
        }

        ApiMetrics.Rejected(ApiMetrics.Forbidden);
        return Problems.Forbidden(
            $"Experiment {experiment.Id} was submitted by '{experiment.SubmittedBy}', not by '{user.CallerId()}'; {action} another caller's experiment needs the 'operate' scope.");
    }

    private static IExperimentGrain? Experiment(string id, IGrainFactory grains) =>
        ExperimentIds.IsWellFormed(id) ? grains.GetGrain<IExperimentGrain>(id) : null;

    private static ProblemHttpResult NoSuchExperiment(string id) =>
        Problems.NotFound($"There is no experiment '{id}'; GET /api/v1/experiments lists them.");

    private static bool TryParsePaging(string? text, string name, int fallback, int min, int max, out int value, out ProblemHttpResult? problem)
    {
        problem = null;
        value = fallback;
        if (text is null)
        {
            return true;
        }

        if (int.TryParse(text, out value) && value >= min && value <= max)
        {
            return true;
        }

        problem = Problems.BadRequest($"{name} '{text}' must be a whole number from {min} to {max}.");
        return false;
    }
}
