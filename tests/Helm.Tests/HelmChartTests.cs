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
        Assert.Equal("team-storage", Scalar(EnvEntry(siloContainer, "Orchestrator__Storage__ConnectionString"), "valueFrom", "secretKeyRef", "name"));
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

    [ServerFact(TestServers.Helm)]
    public async Task Each_gpu_worker_pod_asks_for_one_gpu_and_takes_one_run_on_cuda_and_cpu_workers_ask_for_none()
    {
        var documents = Documents(await HelmAsync("template", "demo", Chart,
            "--set", "worker.gpu.replicas=8", "--set", "worker.gpu.resources.limits.nvidia\\.com/gpu=4",
            "--set", "worker.cpu.enabled=true", "--set", "worker.cpu.replicas=2", "--set", "worker.cpu.slots=3"));

        var gpu = Single(documents, "Deployment", "demo-blip-orchestrator-worker");
        Assert.Equal("8", Scalar(gpu, "spec", "replicas"));
        Assert.Equal("worker", Scalar(gpu, "spec", "selector", "matchLabels", "app.kubernetes.io/component"));
        var gpuContainer = (YamlMappingNode)((YamlSequenceNode)Node(gpu, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("blip-orchestrator/worker-cuda:0.1.0", Scalar(gpuContainer, "image"));
        // One GPU per pod, even where the values ask for more.
        Assert.Equal("1", Scalar(gpuContainer, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("32Gi", Scalar(gpuContainer, "resources", "limits", "memory"));
        Assert.Equal("1", Env(gpuContainer, "Worker__Slots"));
        Assert.Equal("cuda", Env(gpuContainer, "Worker__Device"));
        Assert.Equal("status.podIP", Scalar(EnvEntry(gpuContainer, "Worker__Gang__Address"), "valueFrom", "fieldRef", "fieldPath"));
        var toleration = (YamlMappingNode)((YamlSequenceNode)Node(gpu, "spec", "template", "spec", "tolerations"))[0];
        Assert.Equal("nvidia.com/gpu", Scalar(toleration, "key"));

        var cpu = Single(documents, "Deployment", "demo-blip-orchestrator-worker-cpu");
        Assert.Equal("2", Scalar(cpu, "spec", "replicas"));
        Assert.Equal("worker-cpu", Scalar(cpu, "spec", "selector", "matchLabels", "app.kubernetes.io/component"));
        var cpuContainer = (YamlMappingNode)((YamlSequenceNode)Node(cpu, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("blip-orchestrator/worker-cpu:0.1.0", Scalar(cpuContainer, "image"));
        Assert.Equal(["memory"], ((YamlMappingNode)Node(cpuContainer, "resources", "limits")).Children.Keys.Select(key => ((YamlScalarNode)key).Value));
        Assert.Equal(["cpu", "memory"], ((YamlMappingNode)Node(cpuContainer, "resources", "requests")).Children.Keys.Select(key => ((YamlScalarNode)key).Value));
        Assert.Equal("3", Env(cpuContainer, "Worker__Slots"));
        Assert.Equal("cpu", Env(cpuContainer, "Worker__Device"));
        Assert.Equal("status.podIP", Scalar(EnvEntry(cpuContainer, "Worker__Gang__Address"), "valueFrom", "fieldRef", "fieldPath"));
        Assert.False(((YamlMappingNode)Node(cpu, "spec", "template", "spec")).Children.ContainsKey(new YamlScalarNode("tolerations")));
    }

    [ServerFact(TestServers.Helm)]
    public async Task Only_gpu_workers_are_deployed_by_default_and_the_single_worker_values_of_before_are_refused()
    {
        var documents = Documents(await HelmAsync("template", "demo", Chart));
        Assert.Equal(
            ["demo-blip-orchestrator-silo", "demo-blip-orchestrator-worker"],
            documents.Where(document => Scalar(document, "kind") == "Deployment").Select(document => Scalar(document, "metadata", "name")).Order());

        var (exitCode, _, errors) = await RunHelmAsync("template", "demo", Chart, "--set", "worker.replicas=3");

        Assert.Equal(1, exitCode);
        Assert.Contains(
            "worker.replicas is no longer read: worker pods come in two pools, worker.gpu (one pod per GPU, one run at a time, on CUDA) and worker.cpu",
            errors,
            StringComparison.Ordinal);
    }

    [ServerFact(TestServers.Helm)]
    public async Task A_storage_connection_string_goes_to_the_silos_from_the_chart_s_secret_and_no_identity_is_asked_for()
    {
        const string azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://azurite:10000/devstoreaccount1;TableEndpoint=http://azurite:10002/devstoreaccount1;";
        var documents = Documents(await HelmAsync("template", "demo", Chart, "--set-string", $"storage.connectionString={azurite.Replace(",", "\\,", StringComparison.Ordinal)}",
            "--set", "storage.stateContainer=dev-state"));

        var secret = Single(documents, "Secret", "demo-blip-orchestrator-connections");
        Assert.Equal(azurite, Scalar(secret, "stringData", "storageConnectionString"));
        var silo = Single(documents, "Deployment", "demo-blip-orchestrator-silo");
        var container = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "containers"))[0];
        var entry = EnvEntry(container, "Orchestrator__Storage__ConnectionString");
        Assert.Equal("demo-blip-orchestrator-connections", Scalar(entry, "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("storageConnectionString", Scalar(entry, "valueFrom", "secretKeyRef", "key"));
        Assert.Equal("dev-state", Env(container, "Orchestrator__Storage__StateContainer"));
        Assert.Null(Env(container, "Orchestrator__Storage__AccountName"));
        Assert.False(((YamlMappingNode)Node(silo, "spec", "template", "spec")).Children.ContainsKey(new YamlScalarNode("serviceAccountName")));
        Assert.DoesNotContain(documents, document => Scalar(document, "kind") == "ServiceAccount");
    }

    [ServerFact(TestServers.Helm)]
    public async Task A_storage_account_name_runs_the_silos_under_workload_identity_with_the_chart_s_service_account_or_the_user_s()
    {
        var documents = Documents(await HelmAsync("template", "demo", Chart,
            "--set", "storage.accountName=blipstate", "--set", "storage.workloadIdentity.clientId=00000000-0000-0000-0000-000000000001"));

        var account = Single(documents, "ServiceAccount", "demo-blip-orchestrator-silo");
        Assert.Equal("00000000-0000-0000-0000-000000000001", Scalar(account, "metadata", "annotations", "azure.workload.identity/client-id"));
        var silo = Single(documents, "Deployment", "demo-blip-orchestrator-silo");
        Assert.Equal("true", Scalar(silo, "spec", "template", "metadata", "labels", "azure.workload.identity/use"));
        Assert.Equal("demo-blip-orchestrator-silo", Scalar(silo, "spec", "template", "spec", "serviceAccountName"));
        var container = (YamlMappingNode)((YamlSequenceNode)Node(silo, "spec", "template", "spec", "containers"))[0];
        Assert.Equal("blipstate", Env(container, "Orchestrator__Storage__AccountName"));
        Assert.DoesNotContain(((YamlSequenceNode)Node(container, "env")).Children.OfType<YamlMappingNode>(),
            variable => Scalar(variable, "name") == "Orchestrator__Storage__ConnectionString");
        Assert.False(((YamlMappingNode)Node(Single(documents, "Secret", "demo-blip-orchestrator-connections"), "stringData")).Children.ContainsKey(new YamlScalarNode("storageConnectionString")));

        var own = Documents(await HelmAsync("template", "demo", Chart, "--set", "storage.accountName=blipstate", "--set", "storage.workloadIdentity.serviceAccountName=team-silo"));
        Assert.DoesNotContain(own, document => Scalar(document, "kind") == "ServiceAccount");
        Assert.Equal("team-silo", Scalar(Single(own, "Deployment", "demo-blip-orchestrator-silo"), "spec", "template", "spec", "serviceAccountName"));
    }

    [ServerTheory(TestServers.Helm)]
    [InlineData("storage is required: set storage.connectionString (or storage.existingSecret) for account keys or Azurite, or storage.accountName for workload identity",
        "storage.stateContainer=x")]
    [InlineData("storage: give either connectionString/existingSecret or accountName, not both", "storage.accountName=blipstate", "storage.existingSecret=team-storage")]
    [InlineData("storage.accountName needs storage.workloadIdentity.clientId (the chart creates the service account) or storage.workloadIdentity.serviceAccountName",
        "storage.accountName=blipstate")]
    public async Task Storage_settings_that_cannot_work_are_refused_with_what_to_set(string message, params string[] settings)
    {
        var (exitCode, _, errors) = await RunHelmAsync(["template", "demo", Chart, .. settings.SelectMany(setting => new[] { "--set", setting })]);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, errors, StringComparison.Ordinal);
    }

    private static async Task<string> HelmAsync(params string[] arguments)
    {
        var (exitCode, output, errors) = await RunHelmAsync(arguments);
        Assert.True(exitCode == 0, $"helm {string.Join(' ', arguments)} exited with {exitCode}:\n{output}\n{errors}");
        return output;
    }

    /// <summary>
    /// Runs helm; a lint or template that sets nothing of <c>storage</c> gets a Secret of the user's for it, since the
    /// chart refuses to render without a storage account.
    /// </summary>
    private static async Task<(int ExitCode, string Output, string Errors)> RunHelmAsync(params string[] arguments)
    {
        if (arguments[0] is "lint" or "template" && !arguments.Any(argument => argument.StartsWith("storage.", StringComparison.Ordinal)))
        {
            arguments = [.. arguments, "--set", "storage.existingSecret=team-storage"];
        }

        var start = new ProcessStartInfo(TestServers.Get(TestServers.Helm)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await errors);
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

    /// <summary>The container's entry for environment variable <paramref name="name"/>.</summary>
    private static YamlMappingNode EnvEntry(YamlMappingNode container, string name) =>
        Assert.Single(((YamlSequenceNode)Node(container, "env")).Children.OfType<YamlMappingNode>(), variable => Scalar(variable, "name") == name);

    /// <summary>The value of environment variable <paramref name="name"/>, or null when the container does not set it.</summary>
    private static string? Env(YamlMappingNode container, string name) =>
        ((YamlSequenceNode)Node(container, "env")).Children.OfType<YamlMappingNode>().SingleOrDefault(variable => Scalar(variable, "name") == name) is { } variable
            ? Scalar(variable, "value")
            : null;
}
