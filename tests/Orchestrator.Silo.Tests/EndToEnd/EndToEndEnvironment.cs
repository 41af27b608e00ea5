using System.Diagnostics;
using System.Text.Json;
using Azure.Storage.Blobs;
using Orchestrator.Silo.Security;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// One end-to-end test's world on the shared test servers: its own RabbitMQ vhost (every queue and exchange,
/// the silos' shared report queue included, so no other test's messages can reach it), its own Orleans cluster
/// and service id in Azurite's tables, its own blob containers in Azurite (artifacts, grain state), and the silo and worker processes it starts.
/// Disposing kills every process, prints their output unless the test called <see cref="Passed"/>, and removes
/// the vhost, the container and the local folders.
/// </summary>
internal sealed class EndToEndEnvironment : IAsyncDisposable
{
    /// <summary>Bounds a process start: a cold .NET host on two busy cores takes a while.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>One line per entry; Orleans, MassTransit and ASP.NET Core only when something is wrong.</summary>
    private static readonly string[] LoggingArguments =
    [
        "--Logging:Console:FormatterName=simple",
        "--Logging:Console:FormatterOptions:SingleLine=true",
        "--Logging:LogLevel:Default=Information",
        "--Logging:LogLevel:Microsoft=Warning",
        "--Logging:LogLevel:Orleans=Warning",
        "--Logging:LogLevel:Polly=Warning",
        "--Logging:LogLevel:MassTransit=Warning",
    ];

    private readonly ITestOutputHelper _output;
    private readonly List<ChildProcess> _processes = [];
    private readonly List<OrchestratorClient> _clients = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _root;
    private bool _passed;

    private EndToEndEnvironment(ITestOutputHelper output)
    {
        _output = output;
        Id = $"e2e-{Guid.NewGuid():N}"[..16];
        _root = Directory.CreateTempSubdirectory(Id + "-").FullName;
        Container = new BlobServiceClient(TestServers.Get(TestServers.AzuriteBlob)).GetBlobContainerClient(Id);
    }

    /// <summary>Names this test's vhost, Orleans cluster and service, and blob container.</summary>
    public string Id { get; }

    /// <summary>The key the test's own clients send: it has the <c>admin</c> scope.</summary>
    public string AdminKey { get; } = ApiKeyEntries.NewKey();

    /// <summary>The silos' keys file (<c>Auth:ApiKeysFile</c>), read again within 200 ms of a change; it starts with <see cref="AdminKey"/> alone.</summary>
    public string KeysFile => Path.Combine(_root, "keys.json");

    /// <summary>Replaces the silos' keys: <see cref="AdminKey"/> (as <c>e2e-admin</c>) and <paramref name="entries"/>.</summary>
    public void WriteKeys(params ApiKeyEntry[] entries) =>
        File.WriteAllText(KeysFile, JsonSerializer.Serialize<ApiKeyEntry[]>(
            [new ApiKeyEntry { Id = "e2e-admin", Hash = ApiKeyEntries.Hash(AdminKey), Scopes = [Scopes.Admin] }, .. entries]));

    public string RabbitMq => TestServers.Get(TestServers.RabbitMq).TrimEnd('/') + "/" + Id;

    public BlobContainerClient Container { get; }

    /// <summary>The blob container the silos keep this test's grain state in.</summary>
    public string StateContainerName => Id + "-state";

    public static async Task<EndToEndEnvironment> StartAsync(ITestOutputHelper output)
    {
        var environment = new EndToEndEnvironment(output);
        environment.WriteKeys();
        await RabbitMqControl.RunAsync("add_vhost", environment.Id);
        await RabbitMqControl.RunAsync("set_permissions", "-p", environment.Id, "guest", ".*", ".*", ".*");
        return environment;
    }

    /// <summary>A worker id unique to this test (worker queues are named after it).</summary>
    public string WorkerId(int number) => $"{Id}-w{number}";

    /// <summary>
    /// Starts a silo in cluster mode (Azure Storage on Azurite, RabbitMQ, no in-process worker) and waits for <c>/readyz</c>. Pass the
    /// ports of a silo that was killed to start its replacement on the same address.
    /// </summary>
    public async Task<(ChildProcess Process, OrchestratorClient Api)> StartSiloAsync(
        string name, SiloPorts ports, TimeSpan heartbeatTimeout, params string[] extraArguments)
    {
        string[] arguments =
        [
            $"--urls=http://127.0.0.1:{ports.Http}",
            "--Orchestrator:Mode=Cluster",
            $"--Orchestrator:Storage:ConnectionString={TestServers.Get(TestServers.Azurite)}",
            $"--Orchestrator:Storage:StateContainer={StateContainerName}",
            $"--Orchestrator:ClusterId={Id}",
            $"--Orchestrator:ServiceId={Id}",
            $"--Orchestrator:SiloPort={ports.Silo}",
            $"--Orchestrator:GatewayPort={ports.Gateway}",
            "--Orchestrator:InProcessWorker=false",
            "--Transport:Kind=RabbitMq",
            $"--Transport:RabbitMq={RabbitMq}",
            $"--Scheduler:HeartbeatTimeout={heartbeatTimeout:c}",
            "--Scheduler:CheckInterval=00:00:00.500",
            $"--Auth:ApiKeysFile={KeysFile}",
            "--Auth:KeysFileCheckInterval=00:00:00.200",
            .. LoggingArguments,
            .. extraArguments,
        ];
        var process = Track(ChildProcess.Start(name, BuiltHosts.Silo, arguments));
        var api = Client(ports, AdminKey);

        var clock = Stopwatch.StartNew();
        while (!await api.IsReadyAsync())
        {
            Assert.False(process.HasExited, $"{name} exited before it was ready");
            Assert.True(clock.Elapsed < StartTimeout, $"{name} was not ready within {StartTimeout.TotalSeconds:0} s");
            await Task.Delay(200);
        }

        Log($"{name} ready after {clock.Elapsed.TotalSeconds:0.0} s");
        return (process, api);
    }

    /// <summary>A client of the silo at <paramref name="ports"/> that sends <paramref name="apiKey"/> (none when null); disposed with the environment.</summary>
    public OrchestratorClient Client(SiloPorts ports, string? apiKey)
    {
        var client = new OrchestratorClient(new Uri($"http://127.0.0.1:{ports.Http}"), apiKey);
        _clients.Add(client);
        return client;
    }

    /// <summary>Starts a worker process (the test host: the real agent with test runners) with artifacts in this test's container.</summary>
    public ChildProcess StartWorker(string workerId, string stepDelay = "00:00:00.100", params string[] extraArguments) =>
        Track(ChildProcess.Start(workerId, BuiltHosts.Worker, [.. WorkerArguments(workerId), "--Worker:DrainTimeout=00:00:05", $"--TestRunners:StepDelay={stepDelay}", .. extraArguments]));

    /// <summary>
    /// Starts the real worker process, <c>src/Trainer.Worker</c> with its own runners (it trains, on one libtorch thread),
    /// with artifacts in this test's container and its stop timeouts at their defaults.
    /// </summary>
    public ChildProcess StartTrainingWorker(string workerId, params string[] extraArguments) =>
        Track(ChildProcess.Start(workerId, BuiltHosts.TrainingWorker, [.. WorkerArguments(workerId), "--Worker:TorchThreads=1", .. extraArguments]));

    private string[] WorkerArguments(string workerId) =>
        [
            $"--Worker:WorkerId={workerId}",
            "--Worker:Slots=1",
            "--Worker:Device=cpu",
            "--Worker:HeartbeatInterval=00:00:01",
            "--Worker:ProgressInterval=00:00:00.200",
            $"--Worker:HealthUrl=http://127.0.0.1:{SiloPorts.FreePort()}",
            $"--Worker:WorkDirectory={Path.Combine(_root, workerId, "work")}",
            "--Transport:Kind=RabbitMq",
            $"--Transport:RabbitMq={RabbitMq}",
            "--Artifacts:Kind=AzureBlob",
            $"--Artifacts:AzureBlobConnectionString={TestServers.Get(TestServers.AzuriteBlob)}",
            $"--Artifacts:Container={Id}",
            $"--Artifacts:DataDirectory={Path.Combine(_root, workerId, "data")}",
            .. LoggingArguments,
        ];

    /// <summary>File <paramref name="file"/> of the artifact whose manifest blob is at <paramref name="manifestUri"/>.</summary>
    public BlobClient ArtifactFile(string manifestUri, string file)
    {
        var containerUri = Container.Uri.AbsoluteUri + "/";
        Assert.StartsWith(containerUri, manifestUri, StringComparison.Ordinal);
        Assert.EndsWith("/manifest.json", manifestUri, StringComparison.Ordinal);
        return Container.GetBlobClient(manifestUri[containerUri.Length..^"manifest.json".Length] + file);
    }

    /// <summary>The result file a test runner wrote into each output it committed.</summary>
    public async Task<JsonElement> ReadRunnerResultAsync(string manifestUri)
    {
        var content = await ArtifactFile(manifestUri, "result.json").DownloadContentAsync();
        return JsonDocument.Parse(content.Value.Content.ToString()).RootElement;
    }

    /// <summary>Notes a test step in the output, with the time since the test started.</summary>
    public void Log(string message) => _output.WriteLine($"{_clock.Elapsed.TotalSeconds,7:0.000} [test] {message}");

    /// <summary>Call last in a test: the processes' output is then not printed.</summary>
    public void Passed() => _passed = true;

    public async ValueTask DisposeAsync()
    {
        // Workers first, so none reports to a silo that is going away; then the silos.
        foreach (var process in _processes.OrderBy(process => process.Name.StartsWith("silo", StringComparison.Ordinal)))
        {
            process.Kill();
        }

        if (!_passed)
        {
            foreach (var process in _processes)
            {
                _output.WriteLine($"----- {process.Name} -----");
                foreach (var line in process.Lines)
                {
                    _output.WriteLine(line);
                }
            }
        }

        foreach (var process in _processes)
        {
            process.Dispose();
        }

        _clients.ForEach(client => client.Dispose());

        // Best effort: a failure here must not hide the test's own failure (say, a broker left stopped).
        await CleanUpAsync("the blob container", () => Container.DeleteIfExistsAsync());
        await CleanUpAsync("the state container", () => new BlobServiceClient(TestServers.Get(TestServers.Azurite)).GetBlobContainerClient(StateContainerName).DeleteIfExistsAsync());
        await CleanUpAsync("the vhost", () => RabbitMqControl.RunAsync("delete_vhost", Id));
        await CleanUpAsync("the local folders", () =>
        {
            Directory.Delete(_root, recursive: true);
            return Task.CompletedTask;
        });
    }

    private async Task CleanUpAsync(string what, Func<Task> cleanUp)
    {
        try
        {
            await cleanUp();
        }
        catch (Exception exception)
        {
            Log($"could not remove {what} of {Id}: {exception.Message}");
        }
    }

    private ChildProcess Track(ChildProcess process)
    {
        _processes.Add(process);
        Log($"started {process.Name}");
        return process;
    }
}
