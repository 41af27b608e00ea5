using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Standalone.Tests.Api;

/// <summary>The standalone host's one worker is known, so a kind it does not run is refused at submission, and the catalog says so.</summary>
public sealed class StageKindAvailabilityTests
{
    [Fact]
    public async Task The_standalone_host_refuses_a_kind_its_worker_does_not_run_and_its_catalog_says_so()
    {
        using var host = new StandaloneHost();

        var response = await host.Client.PostAsync("/api/v1/experiments", Yaml("""
            name: no-runner
            stages:
              - { id: data, kind: dataset.synthetic, config: { images: 10 } }
              - { id: vqa, kind: blip.finetune.vqa, inputs: { train: data.web } }
            """));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsArray();
        var kind = Assert.Single(errors, error => error!["path"]!.GetValue<string>() == "/stages/1/kind")!;
        Assert.StartsWith("no worker here runs kind blip.finetune.vqa: this host's worker runs ", kind["message"]!.GetValue<string>());
        Assert.Contains("blip.pretrain", kind["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(await RunnableAsync(host.Client, "blip.pretrain"));
        Assert.False(await RunnableAsync(host.Client, "blip.finetune.vqa"));
        Assert.True(await RunnableAsync(host.Client, "blip2.stage2"));
        Assert.True(await RunnableAsync(host.Client, "blip2.finetune.caption"));
        Assert.True(await RunnableAsync(host.Client, "blip2.finetune.retrieval"));
        Assert.True(await RunnableAsync(host.Client, "blip2.finetune.vqa"));
    }

    private static async Task<bool> RunnableAsync(HttpClient client, string kind) =>
        JsonNode.Parse(await client.GetStringAsync("/api/v1/stage-kinds"))!.AsArray()
            .Single(view => view!["name"]!.GetValue<string>() == kind)!["runnable"]!.GetValue<bool>();

    private static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");
}
