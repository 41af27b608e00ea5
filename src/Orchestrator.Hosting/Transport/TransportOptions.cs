using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Hosting.Transport;

/// <summary>
/// Which broker carries runs and reports; the orchestrator and its workers must use the same. The queues' names are
/// part of the wire and live with the messages (<c>Orchestrator.Contracts.Messages.QueueNames</c>).
/// </summary>
public sealed record TransportOptions
{
    public const string Section = "Transport";

    public TransportKind Kind { get; init; } = TransportKind.InMemory;

    /// <summary>The broker, e.g. <c>amqp://user:pass@127.0.0.1:5672/</c>; required for RabbitMQ.</summary>
    public string? RabbitMq { get; init; }

    /// <summary>Declare queues as quorum queues (replicated), rather than classic durable ones.</summary>
    public bool QuorumQueues { get; init; }

    /// <summary>Messages a receive endpoint takes before acknowledging; runs are acknowledged on accept.</summary>
    [Range(1, 10_000)]
    public int PrefetchCount { get; init; } = 64;
}

/// <summary>The transports the platform supports.</summary>
public enum TransportKind
{
    /// <summary>One process: the standalone mode and tests.</summary>
    InMemory,

    /// <summary>A RabbitMQ broker with durable queues, persistent messages and publisher confirms.</summary>
    RabbitMq,
}
