namespace Orchestrator.Testing.Fuzz;

/// <summary>The example specs in <c>examples/</c> at the repository root, found from the test's output folder upwards.</summary>
public static class Examples
{
    public static string Folder { get; } = Find();

    /// <summary>The file names of every example, in ordinal order.</summary>
    public static string[] Names() =>
        [.. Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    public static string Read(string name) => File.ReadAllText(Path.Combine(Folder, name));

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var examples = Path.Combine(folder.FullName, "examples");
            if (Directory.Exists(examples) && File.Exists(Path.Combine(examples, "tiny-blip.yaml")))
            {
                return examples;
            }
        }

        throw new DirectoryNotFoundException("examples/ was not found above the test's folder");
    }
}
