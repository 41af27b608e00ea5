using Orchestrator.Silo.Tests.EndToEnd;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>Settings a host refuses, as a user meets them: one message naming each on standard error, exit code 2, nothing started.</summary>
public sealed class InvalidSettingsTests : IDisposable
{
    private const string Fix = "Fix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.";

    private readonly string _folder = Directory.CreateTempSubdirectory("invalid-settings-").FullName;

    [Fact]
    public async Task The_silo_names_every_refused_setting_and_exits_2_before_it_starts()
    {
        var dag = Path.Combine(_folder, "dag.yaml");
        await File.WriteAllTextAsync(dag, SmallDags.TwoDatasetsInARow("bad-settings"));

        var (exitCode, lines, errors) = await SiloCommand.RunAsync(
            [.. SiloCommand.StandaloneRun(dag, _folder), "--Scheduler:ReconnectGrace=02:00:00", "--Scheduler:HeartbeatTimeout=00:00:00"]);

        Assert.Equal(2, exitCode);
        Assert.Empty(lines);
        Assert.Equal(
            [
                "The configuration is invalid:",
                "  DataAnnotation validation failed for 'SchedulerOptions' members: 'HeartbeatTimeout' with the error: 'The field HeartbeatTimeout must be between 00:00:01 and 01:00:00.'.",
                "  DataAnnotation validation failed for 'SchedulerOptions' members: 'ReconnectGrace' with the error: 'The field ReconnectGrace must be between 00:00:00 and 01:00:00.'.",
                Fix,
            ],
            errors.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task The_worker_names_every_refused_setting_and_exits_2_before_it_starts()
    {
        var (exitCode, _, errors) = await SiloCommand.RunHostAsync(
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
        "--Orchestrator:Mode=Cluster", "--Orchestrator:Redis=127.0.0.1:1", "--Transport:Kind=RabbitMq", "--Transport:RabbitMq=amqp://guest:guest@127.0.0.1:1/")]
    [InlineData("the API would run open to anyone who reaches it (listening on http://0.0.0.0:{port}); configure Auth:ApiKeys",
        "--standalone", "--urls=http://0.0.0.0:{port}")]
    [InlineData("Auth:Mode is Required but no credential is configured; set Auth:ApiKeys, Auth:ApiKeysFile or Auth:Jwt:Authority",
        "--standalone", "--Auth:Mode=Required")]
    [InlineData("Auth:ApiKeys entry 0 ('ci'): hash must be the SHA-256 of the key as 64 hex digits (apikey create prints it), not the key itself",
        "--standalone", "--Auth:ApiKeys:0:Id=ci", "--Auth:ApiKeys:0:Hash=bo_secret", "--Auth:ApiKeys:0:Scopes:0=submit")]
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

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
