using System.Text.Json.Nodes;

namespace Orchestrator.Silo.Tests.Hosting;

/// <summary>The runtime settings both orchestrator hosts ship with, as their build writes them to runtimeconfig.json.</summary>
public sealed class HostRuntimeConfigTests
{
    public static TheoryData<string, string> Hosts => new()
    {
        { "src/Orchestrator.Silo", "Orchestrator.Silo" },
        { "src/Orchestrator.Standalone", "Orchestrator.Standalone" },
    };

    [Theory]
    [MemberData(nameof(Hosts))]
    public void Thread_pool_workers_wait_without_spinning_and_the_server_collector_stays(string project, string assembly)
    {
        var path = Path.Combine(BuiltHosts.Output(project), $"{assembly}.runtimeconfig.json");
        var settings = JsonNode.Parse(File.ReadAllText(path))!["runtimeOptions"]!["configProperties"]!;

        Assert.Equal(0, settings["System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"]!.GetValue<int>());
        Assert.True(settings["System.GC.Server"]!.GetValue<bool>());
    }
}
