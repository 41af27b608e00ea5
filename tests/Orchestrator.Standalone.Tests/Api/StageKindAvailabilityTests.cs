using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;

namespace Orchestrator.Standalone.Tests.Api;

/// <summary>
/// The standalone host's one worker is known, so the catalog says which kinds it runs (and submission refuses the others:
/// <c>SpecValidationTests</c>). Its worker registers a runner for every kind of the catalog.
/// </summary>
public sealed class StageKindAvailabilityTests
{
    [Fact]
    public async Task The_standalone_hosts_worker_runs_every_kind_of_the_catalog_and_the_catalog_says_so()
    {
        using var host = new StandaloneHost();

        var kinds = JsonNode.Parse(await host.Client.GetStringAsync("/api/v1/stage-kinds"))!.AsArray();

        Assert.Equal(StageKindCatalog.All.Select(kind => kind.Name).Order(StringComparer.Ordinal), kinds.Select(kind => kind!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(kinds, kind => Assert.True(kind!["runnable"]!.GetValue<bool>(), $"{kind["name"]} is not runnable here"));
    }
}
