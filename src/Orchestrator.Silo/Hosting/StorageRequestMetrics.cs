using System.Diagnostics.Metrics;
using Azure.Core;
using Azure.Core.Pipeline;
using Orchestrator.Grains;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Counts every request a cluster sends to Azure Storage, each try of a retried request included: a policy in the
/// pipeline of the table and blob clients that Orleans' membership, reminder and grain-storage providers use, so it sees
/// them all. Tagged by service (table, blob), what the request is about (the membership or reminder table, or the grain
/// state's name: experiment, experiment-index-partition, -day and -directory, experiment-index (the first layout), stage, pubsub), operation (read, write, delete) and outcome (ok;
/// not-found: a 404, as every new grain's first read gets; error: another HTTP status of 400 or more, or no answer at all).
/// </summary>
public sealed class StorageRequestMetrics : HttpPipelinePolicy
{
    public const string InstrumentName = "orchestrator.storage.requests";

    private static readonly Meter Meter = new(OrchestratorMetrics.MeterName);

    private static readonly Counter<long> Requests =
        Meter.CreateCounter<long>(InstrumentName, "{request}", "Requests sent to Azure Storage (each try), by service, state, operation and outcome.");

    /// <summary>Grain state names, longest first: a blob is named <c>STATE-GRAINID</c>, and one state name starts another.</summary>
    private static readonly string[] StateNames =
        ["experiment-index-partition", "experiment-index-directory", "experiment-index-day", "experiment-index", "experiment", "stage"];

    private readonly string _service;

    public StorageRequestMetrics(string service) => _service = service;

    /// <summary>The path of the service's root (<c>/devstoreaccount1</c> on Azurite, <c>/</c> on Azure), set once the client exists.</summary>
    public string BasePath { get; set; } = "/";

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            await ProcessNextAsync(message, pipeline);
        }
        finally
        {
            Count(message);
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            Count(message);
        }
    }

    private void Count(HttpMessage message)
    {
        // A read of a grain's state that was never written (every new grain's first read) answers 404: not a failure.
        var outcome = !message.HasResponse ? "error"
            : message.Response.Status < 400 ? "ok"
            : message.Response.Status == 404 ? "not-found"
            : "error";
        var subject = Subject(message.Request.Uri.Path);
        Requests.Add(1,
            new KeyValuePair<string, object?>("service", _service),
            new KeyValuePair<string, object?>("state", subject == "batch" ? BatchSubject(message.Request.Content) : subject),
            new KeyValuePair<string, object?>("operation", Operation(message.Request.Method)),
            new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>What a request is about, from its path: a table's role, or a blob's state name.</summary>
    public string Subject(string path)
    {
        // The request's path may come with or without its leading slash, as may the service's.
        var root = BasePath.Trim('/');
        var relative = path.TrimStart('/');
        if (root.Length > 0 && (relative == root || relative.StartsWith(root + "/", StringComparison.Ordinal) || relative.StartsWith(root + "(", StringComparison.Ordinal)))
        {
            relative = relative[root.Length..];
        }

        relative = Uri.UnescapeDataString(relative.TrimStart('/'));
        if (_service == "table")
        {
            var table = relative.Split('(', '/')[0];
            return table switch
            {
                "OrleansSiloInstances" => "membership",
                "OrleansReminders" => "reminders",
                "Tables" or "" => "tables",
                "$batch" => "batch",
                _ => "other",
            };
        }

        var slash = relative.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return "container";
        }

        var blob = relative[(slash + 1)..];
        foreach (var state in StateNames)
        {
            if (blob.StartsWith(state + "-", StringComparison.Ordinal))
            {
                return state;
            }
        }

        return blob.StartsWith("pubsub", StringComparison.OrdinalIgnoreCase) ? "pubsub" : "other";
    }

    /// <summary>A table batch's path names no table: its body does (Orleans' membership writes its rows in batches).</summary>
    public static string BatchSubject(RequestContent? content)
    {
        if (content is null)
        {
            return "batch";
        }

        using var body = new MemoryStream();
        content.WriteTo(body, CancellationToken.None);
        var text = System.Text.Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length);
        return text.Contains("/OrleansSiloInstances", StringComparison.Ordinal) ? "membership"
            : text.Contains("/OrleansReminders", StringComparison.Ordinal) ? "reminders"
            : "batch";
    }

    private static string Operation(RequestMethod method) =>
        method == RequestMethod.Get || method == RequestMethod.Head ? "read"
        : method == RequestMethod.Delete ? "delete"
        : "write";
}
