using System.Diagnostics;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Helm.Tests;

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

    [ServerFact(TestServers.Helm)]
    public async Task Api_keys_given_as_values_become_a_mounted_secret_of_hashes_and_jwt_and_open_settings_reach_the_silo()
    {
        var documents = Documents(await HelmAsync("template", "demo", Chart,
            "--set", "auth.apiKeys[0].id=ci", "--set", $"auth.apiKeys[0].hash={new string('a', 64)}", "--set", "auth.apiKeys[0].scopes[0]=submit",
            "--set", "auth.jwt.authority=https://login.example.com/realms/ml", "--set", "auth.jwt.audience=blip-orchestrator",
            "--set", "worker.importRoots[0]=/data/coco", "--set", "silo.maxGangSize=8"));

        var secret = Single(documents, "Secret", "demo-blip-orchestrator-api-keys");
        var keys = JsonNode.Parse(Scalar(secret, "stringData", "keys.json")!)!.AsArray();
        Assert.Equal("""[{"hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","id":"ci","scopes":["submit"]}]""", keys.ToJsonString());
        var silo = Single(documents, "Deployment", "demo-blip-orchestrator-silo");
        var container = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("/etc/blip-orchestrator/auth/keys.json", Env(container, "Auth__ApiKeysFile"));
        Assert.Equal("/etc/blip-orchestrator/auth", Scalar((YamlMappingNode)((YamlSequenceNode)Node(container, "volumeMounts"))[0], "mountPath"));
        var volume = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "volumes"))[0];
        Assert.Equal("demo-blip-orchestrator-api-keys", Scalar(volume, "secret", "secretName"));
        Assert.Equal("https://login.example.com/realms/ml", Env(container, "Auth__Jwt__Authority"));
        Assert.Equal("blip-orchestrator", Env(container, "Auth__Jwt__Audience"));
        Assert.Equal("8", Env(container, "Scheduler__MaxGangSize"));
        Assert.Null(Env(container, "Auth__Mode"));
        var worker = (YamlMappingNode)((YamlSequenceNode)Node(Single(documents, "Deployment", "demo-blip-orchestrator-worker"), "spec", "template", "spec", "containers"))[0];
        Assert.Equal("/data/coco", Env(worker, "Worker__ImportRoots__0"));
    }

    [ServerFact(TestServers.Helm)]
    public async Task A_secret_of_the_users_is_mounted_as_it_is_and_an_open_api_must_be_asked_for()
    {
        var documents = Documents(await HelmAsync("template", "demo", Chart, "--set", "auth.existingSecret=team-api-keys", "--set", "auth.open=true"));

        Assert.DoesNotContain(documents, document => Scalar(document, "kind") == "Secret" && Scalar(document, "metadata", "name") == "demo-blip-orchestrator-api-keys");
        var silo = Single(documents, "Deployment", "demo-blip-orchestrator-silo");
        var volume = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "volumes"))[0];
        Assert.Equal("team-api-keys", Scalar(volume, "secret", "secretName"));
        var container = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("Open", Env(container, "Auth__Mode"));
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

    /// <summary>The value of environment variable <paramref name="name"/>, or null when the container does not set it.</summary>
    private static string? Env(YamlMappingNode container, string name) =>
        ((YamlSequenceNode)Node(container, "env")).Children.OfType<YamlMappingNode>().SingleOrDefault(variable => Scalar(variable, "name") == name) is { } variable
            ? Scalar(variable, "value")
            : null;
}
