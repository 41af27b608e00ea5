namespace Orchestrator.Testing;

/// <summary>
/// A test that needs a real server or tool (RabbitMQ, Azurite, Prometheus, helm) started or installed by <c>./scripts/test.sh</c>,
/// which exports its address in an <c>ORCH_TEST_*</c> variable. Under plain <c>dotnet test</c> the test is
/// skipped with that instruction; under the test script (<c>ORCH_REQUIRE_SERVERS=1</c>) it always runs,
/// and a missing server fails it rather than hiding it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerFactAttribute : FactAttribute
{
    public ServerFactAttribute(params string[] variables)
    {
        Skip = TestServers.SkipReason(variables);
    }
}

/// <summary>A <see cref="ServerFactAttribute"/> with data: skipped, or run, on the same terms.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerTheoryAttribute : TheoryAttribute
{
    public ServerTheoryAttribute(params string[] variables)
    {
        Skip = TestServers.SkipReason(variables);
    }
}

/// <summary>The servers the test script started.</summary>
public static class TestServers
{
    /// <summary>Azurite's blob and table services, as one connection string: a cluster's membership, reminders and grain state.</summary>
    public const string Azurite = "ORCH_TEST_AZURITE";
    public const string RabbitMq = "ORCH_TEST_RABBITMQ";
    public const string RabbitMqCtl = "ORCH_TEST_RABBITMQ_CTL";
    public const string AzuriteBlob = "ORCH_TEST_AZURITE_BLOB";

    /// <summary>The files holding the pids of Azurite's blob and table processes, for the storage outage tests (which update them when they restart one).</summary>
    public const string AzuriteBlobPidFile = "ORCH_TEST_AZURITE_BLOB_PID_FILE";
    public const string AzuriteTablePidFile = "ORCH_TEST_AZURITE_TABLE_PID_FILE";

    /// <summary>scripts/test-services.sh, whose <c>start-azurite</c> starts Azurite again after a test stopped it.</summary>
    public const string Services = "ORCH_TEST_SERVICES";
    public const string Prometheus = "ORCH_TEST_PROMETHEUS";
    public const string Helm = "ORCH_TEST_HELM";

    public static bool Required => Environment.GetEnvironmentVariable("ORCH_REQUIRE_SERVERS") == "1";

    /// <summary>Why a test that needs <paramref name="variables"/> is skipped here, or null when it runs.</summary>
    public static string? SkipReason(string[] variables)
    {
        var missing = variables.Where(variable => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable))).ToList();
        return missing.Count > 0 && !Required
            ? $"needs {string.Join(", ", missing)}: run ./scripts/test.sh, which starts the servers"
            : null;
    }

    /// <summary>The variable's value, or a failure that says how to get it.</summary>
    public static string Get(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run the tests with ./scripts/test.sh, which starts the servers they need.");
}
