using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Api;

/// <summary>Health, readiness and the workers the scheduler knows.</summary>
public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        // Probes carry no credential and must not be throttled.
        app.MapGet("/healthz", () => TypedResults.Text("ok")).WithTags("Operations").WithSummary("The process is alive.").AllowAnonymous().DisableRateLimiting();
        app.MapGet("/readyz", ReadyAsync).WithTags("Operations").WithSummary("The silo answers grain calls and lists experiments.").AllowAnonymous().DisableRateLimiting();
        app.MapGet("/api/v1/workers", (IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetSnapshotAsync())
            .WithTags("Workers")
            .WithSummary("Registered workers with free slots and runs, queue depth.")
            .RequireAuthorization(SecurityHostingExtensions.Read);
        return app;
    }

    private static async Task<Results<Ok<string>, ProblemHttpResult>> ReadyAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        try
        {
            if (!await ExperimentIndex.IsCompleteAsync(grains).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken))
            {
                return Problems.Unavailable("The experiment index of an older version is being moved into partitions, so listings are not whole yet; retry shortly.");
            }

            // The first listing of an activation gathers every partition's counts (a read of each after a restart): ready
            // once a listing answers, as it did when the index was one grain whose activation read it whole.
            await ExperimentIndex.ListAsync(grains, ExperimentQuery.All, null, 0, 1).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return TypedResults.Ok("ready");
        }
        catch (Exception exception) when (exception is TimeoutException or OrleansException)
        {
            return Problems.Unavailable($"The silo does not answer grain calls yet ({exception.GetType().Name}); retry shortly.");
        }
    }
}
