namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// The end-to-end tests run one at a time: each starts several processes on a two-core machine, and one of
/// them restarts the shared RabbitMQ broker, which would break any other test using it at that moment.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "End to end";
}
