using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Orchestrator.Architecture.Tests;

/// <summary>One project file: its name (the file's, without .csproj), what it references and the packages it names.</summary>
internal sealed record ProjectNode(string Name, string RelativePath, IReadOnlyList<string> References, IReadOnlyList<string> BuildOnly, IReadOnlyList<string> Packages);

/// <summary>
/// The repository's projects and their references, read from the .csproj files (no build, no MSBuild): a
/// <c>ProjectReference</c> references a project unless it says <c>ReferenceOutputAssembly="false"</c>, which only builds
/// it first (a host started as a process, never loaded); a <c>PackageReference</c>'s name has the repository's
/// properties (<c>$(TorchSharpPackage)</c>) put in from Directory.Build.props. A shared framework (a
/// <c>FrameworkReference</c>, or the web SDK's ASP.NET Core) counts as a package of its name.
/// </summary>
internal sealed partial class ProjectGraph
{
    private readonly Dictionary<string, ProjectNode> _nodes;

    private ProjectGraph(Dictionary<string, ProjectNode> nodes) => _nodes = nodes;

    public IReadOnlyCollection<ProjectNode> Projects => _nodes.Values;

    /// <summary>Every project under src/, bench/ and tests/ of the repository at <paramref name="root"/>.</summary>
    public static ProjectGraph Load(string root)
    {
        var properties = Properties(Path.Combine(root, "Directory.Build.props"));
        var files = new[] { "src", "bench", "tests" }
            .Select(folder => Path.Combine(root, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.csproj", SearchOption.AllDirectories))
            .Where(file => !file.Split(Path.DirectorySeparatorChar).Any(segment => segment is "bin" or "obj"));
        var nodes = new Dictionary<string, ProjectNode>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var project = XDocument.Load(file);
            var references = project.Descendants("ProjectReference").ToList();
            nodes.Add(Path.GetFileNameWithoutExtension(file), new ProjectNode(
                Path.GetFileNameWithoutExtension(file),
                Path.GetRelativePath(root, file),
                [.. references.Where(reference => !BuildOnly(reference)).Select(NameOf)],
                [.. references.Where(BuildOnly).Select(NameOf)],
                [.. project.Descendants("PackageReference").SelectMany(package => Expand((string)package.Attribute("Include")!, properties)),
                    .. project.Descendants("FrameworkReference").Select(framework => (string)framework.Attribute("Include")!),
                    .. WebSdk(project)]));
        }

        return new ProjectGraph(nodes);
    }

    /// <summary>A project on the web SDK gets the ASP.NET Core shared framework without naming it.</summary>
    private static IEnumerable<string> WebSdk(XDocument project) =>
        (string?)project.Root?.Attribute("Sdk") == "Microsoft.NET.Sdk.Web" ? ["Microsoft.AspNetCore.App"] : [];

    public ProjectNode this[string name] =>
        _nodes.TryGetValue(name, out var node) ? node : throw new KeyNotFoundException($"no project {name}.csproj under src/, bench/ or tests/");

    public bool Contains(string name) => _nodes.ContainsKey(name);

    /// <summary>The projects <paramref name="name"/> references, directly or through others (build-only references left out).</summary>
    public IReadOnlySet<string> ProjectsOf(string name)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(this[name].References);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next) && _nodes.TryGetValue(next, out var node))
            {
                foreach (var reference in node.References)
                {
                    pending.Push(reference);
                }
            }
        }

        return seen;
    }

    /// <summary>The packages <paramref name="name"/> and every project it references name (a package's own dependencies are not read).</summary>
    public IReadOnlySet<string> PackagesOf(string name) =>
        new SortedSet<string>(ProjectsOf(name).Where(_nodes.ContainsKey).Append(name).SelectMany(project => _nodes[project].Packages), StringComparer.Ordinal);

    private static bool BuildOnly(XElement reference) =>
        string.Equals((string?)reference.Attribute("ReferenceOutputAssembly"), "false", StringComparison.OrdinalIgnoreCase);

    private static string NameOf(XElement reference) =>
        Path.GetFileNameWithoutExtension(((string)reference.Attribute("Include")!).Replace('\\', '/'));

    /// <summary>The properties Directory.Build.props sets, each to its last value (conditions are defaults: "unless set").</summary>
    private static Dictionary<string, string> Properties(string file) =>
        XDocument.Load(file).Descendants("PropertyGroup").Elements()
            .GroupBy(property => property.Name.LocalName)
            .ToDictionary(group => group.Key, group => group.Last().Value.Trim(), StringComparer.Ordinal);

    private static IEnumerable<string> Expand(string include, Dictionary<string, string> properties) =>
        PropertyPattern().Replace(include, match => properties.GetValueOrDefault(match.Groups[1].Value, match.Value))
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [GeneratedRegex(@"\$\(([A-Za-z0-9_]+)\)")]
    private static partial Regex PropertyPattern();
}
