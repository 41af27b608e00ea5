namespace Orchestrator.Silo.Tests;

/// <summary>
/// The cluster silo ships without the worker's native stack: a silo image carries no TorchSharp or libtorch, and neither
/// does this test project's output (the end-to-end tests start the worker as a process they build but do not reference).
/// </summary>
public sealed class SiloOutputTests
{
    public static TheoryData<string> Outputs => new()
    {
        BuiltHosts.Output("src/Orchestrator.Silo"),
        AppContext.BaseDirectory,
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void The_output_holds_no_TorchSharp_or_libtorch_file(string output)
    {
        Assert.True(File.Exists(Path.Combine(output, "Orchestrator.Grains.dll")), $"{output} is not a build output of the silo");

        var torch = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(output, path))
            .Where(path => Path.GetFileName(path).StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
                || Path.GetFileName(path).StartsWith("libtorch", StringComparison.OrdinalIgnoreCase))
            .ToList();

        Assert.Empty(torch);
    }
}
