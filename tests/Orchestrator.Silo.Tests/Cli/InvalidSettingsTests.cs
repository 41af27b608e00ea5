using Orchestrator.Silo.Tests.EndToEnd;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>Settings the silo and the worker refuse, as a user meets them: one message naming each on standard error, exit code 2, nothing started.</summary>
public sealed class InvalidSettingsTests : IDisposable
{
    private const string Fix = "Fix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.";

    private readonly string _folder = Directory.CreateTempSubdirectory("invalid-settings-").FullName;

    [Fact]
    public async Task The_worker_names_every_refused_setting_and_exits_2_before_it_starts()
    {
        var (exitCode, _, errors) = await BuiltHosts.RunAsync(
            BuiltHosts.Worker, "--Worker:Slots=0", "--Worker:TorchThreads=-1", $"--Worker:HealthUrl=http://127.0.0.1:{SiloPorts.FreePort()}",
            $"--Worker:WorkDirectory={Path.Combine(_folder, "work")}");

        Assert.Equal(2, exitCode);
        var message = errors.TrimEnd().Split('\n');
        Assert.Equal("The configuration is invalid:", message[0]);
        Assert.Contains(message, line => line.Contains("Worker:Slots is 0; set it to the runs this worker takes at once", StringComparison.Ordinal));
        Assert.Contains(message, line => line.Contains("Worker:TorchThreads is -1", StringComparison.Ordinal));
        Assert.Equal(Fix, message[^1]);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("the API would run open to anyone who reaches it (cluster mode); configure Auth:ApiKeys, Auth:ApiKeysFile (e.g. a mounted secret) or Auth:Jwt:Authority, or set Auth:Mode=Open to run without authentication on purpose",
        "--Orchestrator:Mode=Cluster", "--Orchestrator:Storage:ConnectionString=UseDevelopmentStorage=true", "--Transport:Kind=RabbitMq", "--Transport:RabbitMq=amqp://guest:guest@127.0.0.1:1/")]
    [InlineData("the API would run open to anyone who reaches it (listening on http://0.0.0.0:{port}); configure Auth:ApiKeys",
        "--urls=http://0.0.0.0:{port}")]
    [InlineData("Orchestrator:InProcessWorker is true, but this host holds no worker: run the standalone host for a worker in process (dotnet run --project src/Orchestrator.Standalone)",
        "--Orchestrator:InProcessWorker=true")]
    public async Task The_silo_refuses_to_serve_an_open_api_beyond_a_loopback_standalone_host_and_names_the_settings(string message, params string[] arguments)
    {
        var port = SiloPorts.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] common = [$"--urls=http://127.0.0.1:{port}", $"--Orchestrator:SiloPort={SiloPorts.FreePort()}", $"--Orchestrator:GatewayPort={SiloPorts.FreePort()}",
            $"--Artifacts:DataDirectory={Path.Combine(_folder, "artifacts")}", $"--Worker:WorkDirectory={Path.Combine(_folder, "work")}"];

        var (exitCode, _, errors) = await SiloCommand.RunAsync([.. common, .. arguments.Select(argument => argument.Replace("{port}", port, StringComparison.Ordinal))]);

        Assert.Equal(2, exitCode);
        Assert.Contains("  " + message.Replace("{port}", port, StringComparison.Ordinal), errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    /// <summary>The one-process host has moved out of the silo: the old flag gets a pointer to it, not a silo without a worker.</summary>
    [Fact]
    public async Task The_silo_refuses_the_standalone_flag_and_names_the_standalone_host()
    {
        var (exitCode, lines, errors) = await SiloCommand.RunAsync(["--standalone", .. SiloCommand.FreePorts()]);

        Assert.Equal(2, exitCode);
        Assert.Empty(lines);
        Assert.Equal(
            "--standalone: the silo no longer holds a worker; the one-process host is its own project: dotnet run --project src/Orchestrator.Standalone -c Release (add -- --run FILE to run a DAG).",
            errors.TrimEnd());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
