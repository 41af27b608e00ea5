namespace Orchestrator.Standalone.Tests.Cli;

/// <summary>The spec limits are validated when the silo starts, like every other setting: a refused one stops it with exit code 2.</summary>
public sealed class SpecLimitsSettingsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("spec-limits-settings-").FullName;

    [Fact]
    public async Task A_spec_limit_out_of_range_stops_the_silo_before_it_starts()
    {
        var dag = Path.Combine(_folder, "dag.yaml");
        await File.WriteAllTextAsync(dag, SmallDags.TwoDatasetsInARow("bad-limits"));

        var (exitCode, lines, errors) = await StandaloneCommand.RunAsync([.. StandaloneCommand.Run(dag, _folder), "--SpecLimits:MaxNodes=0"]);

        Assert.Equal(2, exitCode);
        Assert.Empty(lines);
        Assert.Equal(
            [
                "The configuration is invalid:",
                "  DataAnnotation validation failed for 'SpecLimits' members: 'MaxNodes' with the error: 'SpecLimits:MaxNodes must be from 16 to 10000000, e.g. 100000'.",
                "Fix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.",
            ],
            errors.TrimEnd().Split('\n'));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
