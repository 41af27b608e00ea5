namespace Orchestrator.Standalone.Tests.Cli;

/// <summary>Settings the standalone host refuses, as a user meets them: one message naming each on standard error, exit code 2, nothing started.</summary>
public sealed class InvalidSettingsTests : IDisposable
{
    private const string Fix = "Fix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.";

    private readonly string _folder = Directory.CreateTempSubdirectory("invalid-settings-").FullName;

    [Fact]
    public async Task The_standalone_host_names_every_refused_setting_and_exits_2_before_it_starts()
    {
        var dag = Path.Combine(_folder, "dag.yaml");
        await File.WriteAllTextAsync(dag, SmallDags.TwoDatasetsInARow("bad-settings"));

        var (exitCode, lines, errors) = await StandaloneCommand.RunAsync(
            [.. StandaloneCommand.Run(dag, _folder), "--Scheduler:ReconnectGrace=02:00:00", "--Scheduler:HeartbeatTimeout=00:00:00"]);

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

    /// <summary>The old <c>--standalone</c> flag is still accepted (scripts written for the silo); the host is standalone without it.</summary>
    [Theory]
    [InlineData("the API would run open to anyone who reaches it (listening on http://0.0.0.0:{port}); configure Auth:ApiKeys",
        "--standalone", "--urls=http://0.0.0.0:{port}")]
    [InlineData("Auth:Mode is Required but no credential is configured; set Auth:ApiKeys, Auth:ApiKeysFile or Auth:Jwt:Authority",
        "--standalone", "--Auth:Mode=Required")]
    [InlineData("Auth:ApiKeys entry 0 ('ci'): hash must be the SHA-256 of the key as 64 hex digits (apikey create prints it), not the key itself",
        "--standalone", "--Auth:ApiKeys:0:Id=ci", "--Auth:ApiKeys:0:Hash=bo_secret", "--Auth:ApiKeys:0:Scopes:0=submit")]
    [InlineData("the API would run open to anyone who reaches it (listening on http://0.0.0.0:{port}); configure Auth:ApiKeys",
        "--urls=http://0.0.0.0:{port}")]
    public async Task The_standalone_host_refuses_to_serve_an_open_api_beyond_loopback_and_names_the_settings(string message, params string[] arguments)
    {
        var port = BuiltHosts.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] common = [$"--urls=http://127.0.0.1:{port}", $"--Orchestrator:SiloPort={BuiltHosts.FreePort()}", $"--Orchestrator:GatewayPort={BuiltHosts.FreePort()}",
            $"--Artifacts:DataDirectory={Path.Combine(_folder, "artifacts")}", $"--Worker:WorkDirectory={Path.Combine(_folder, "work")}"];

        var (exitCode, _, errors) = await StandaloneCommand.RunAsync([.. common, .. arguments.Select(argument => argument.Replace("{port}", port, StringComparison.Ordinal))]);

        Assert.Equal(2, exitCode);
        Assert.Contains("  " + message.Replace("{port}", port, StringComparison.Ordinal), errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
