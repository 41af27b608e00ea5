using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Silo.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Silo.Tests.Observability;

/// <summary>The Helm chart in helm/blip-orchestrator, linted and rendered by a real helm (<see cref="TestServers.Helm"/>).</summary>
public sealed class HelmChartTests
{
    private static readonly string Chart = BuiltHosts.RepositoryFile("helm", "blip-orchestrator");

    [ServerFact(TestServers.Helm)]
    public async Task The_chart_lints_clean()
    {
        var lint = await HelmAsync("lint", Chart, "--strict");

        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", lint, StringComparison.Ordinal);
    }

    [ServerFact(TestServers.Helm)]
    public async Task The_rendered_chart_carries_the_dashboard_for_the_grafana_sidecar_and_the_metrics_ports()
    {
        var rendered = await HelmAsync("template", "demo", Chart, "--set", "worker.metricsPort=9500", "--set", "worker.torchThreads=4");
        var documents = Documents(rendered);

        var dashboards = Single(documents, "ConfigMap", "demo-blip-orchestrator-dashboards");
        Assert.Equal("1", Scalar(dashboards, "metadata", "labels", "grafana_dashboard"));
        var json = Scalar(dashboards, "data", "blip-orchestrator.json");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Chart, "dashboards", "blip-orchestrator.json")), json);
        Assert.Equal("blip-orchestrator", JsonNode.Parse(json!)!["uid"]!.GetValue<string>());

        var worker = Single(documents, "Deployment", "demo-blip-orchestrator-worker");
        Assert.Equal("9500", Scalar(worker, "spec", "template", "metadata", "annotations", "prometheus.io/port"));
        var container = (YamlMappingNode)((YamlSequenceNode)Node(worker, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("1", Scalar(container, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("9500", Env(container, "Worker__MetricsPort"));
        Assert.Equal("0.0.0.0", Env(container, "Worker__MetricsAddress"));
        Assert.Equal("4", Env(container, "Worker__TorchThreads"));

        var silo = Single(documents, "Deployment", "demo-blip-orchestrator-silo");
        Assert.Equal("5080", Scalar(silo, "spec", "template", "metadata", "annotations", "prometheus.io/port"));
        var siloContainer = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("redis-master:6379", Env(siloContainer, "Orchestrator__Redis"));
        Assert.Equal("RabbitMq", Env(siloContainer, "Transport__Kind"));
        Single(documents, "Service", "demo-blip-orchestrator-silo");
    }

    private static async Task<string> HelmAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(TestServers.Get(TestServers.Helm)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"helm {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await errors}");
        return await output;
    }

    private static List<YamlMappingNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(document => document.RootNode).OfType<YamlMappingNode>()];
    }

    private static YamlMappingNode Single(List<YamlMappingNode> documents, string kind, string name) =>
        Assert.Single(documents, document => Scalar(document, "kind") == kind && Scalar(document, "metadata", "name") == name);

    private static YamlNode Node(YamlNode node, params string[] path) =>
        path.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    private static string? Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value;

    private static string? Env(YamlMappingNode container, string name) =>
        Scalar(((YamlSequenceNode)Node(container, "env")).Children.OfType<YamlMappingNode>().Single(variable => Scalar(variable, "name") == name), "value");
}
