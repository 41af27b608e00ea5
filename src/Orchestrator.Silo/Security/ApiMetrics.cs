using System.Diagnostics.Metrics;
using Orchestrator.Grains;

namespace Orchestrator.Silo.Security;

/// <summary>The API's own instruments, on the orchestrator's meter.</summary>
public static class ApiMetrics
{
    public const string SpecBudget = "spec_budget";
    public const string Unauthenticated = "unauthenticated";
    public const string Forbidden = "forbidden";
    public const string RateLimited = "rate_limited";
    public const string CreationsBusy = "creations_busy";

    /// <summary>The reasons a request is refused before it does anything, each a series from the start so dashboards show zeros.</summary>
    public static readonly IReadOnlyList<string> Reasons = [SpecBudget, Unauthenticated, Forbidden, RateLimited, CreationsBusy];

    private static readonly Meter Meter = new(OrchestratorMetrics.MeterName);

    private static readonly Counter<long> RejectedRequests =
        Meter.CreateCounter<long>("orchestrator.api.rejected", "{request}", "Requests refused before they did anything, by reason: a spec over its parsing budget (400, or 413 past SpecLimits:MaxBytes), no or a refused credential (401), a missing scope or another caller's experiment (403), over the rate limit (429), the silo's line of creations full (503).");

    public static void Rejected(string reason) => RejectedRequests.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Makes every reason's series exist at zero.</summary>
    public static void Initialise()
    {
        foreach (var reason in Reasons)
        {
            RejectedRequests.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
    }
}
