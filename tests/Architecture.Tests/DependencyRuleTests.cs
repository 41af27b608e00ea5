namespace Orchestrator.Architecture.Tests;

/// <summary>The dependency rules (<see cref="DependencyRules"/>) held over the repository's project files.</summary>
public sealed class DependencyRuleTests
{
    private static readonly ProjectGraph Graph = ProjectGraph.Load(BuiltHosts.RepositoryFile());

    public static TheoryData<DependencyRule> Rules => [.. DependencyRules.All];

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_project_references_only_what_its_rule_allows(DependencyRule rule)
    {
        var projects = Graph.ProjectsOf(rule.Project);
        var packages = Graph.PackagesOf(rule.Project);

        var broken = new List<string>();
        broken.AddRange(projects.Where(project => rule.OnlyProjects is { } only && !only.Any(pattern => DependencyRules.Matches(project, pattern)))
            .Select(project => $"references project {project}{Via(rule.Project, project)}, which is not among {string.Join(", ", rule.OnlyProjects!)}"));
        broken.AddRange(packages.Where(package => rule.OnlyPackages is { } only && !only.Any(pattern => DependencyRules.Matches(package, pattern)))
            .Select(package => $"references package {package}, which is not among {string.Join(", ", rule.OnlyPackages!)}"));
        broken.AddRange(projects.Where(project => rule.NeverProjects.Any(pattern => DependencyRules.Matches(project, pattern)))
            .Select(project => $"references project {project}{Via(rule.Project, project)}"));
        broken.AddRange(packages.Where(package => rule.NeverPackages.Any(pattern => DependencyRules.Matches(package, pattern)))
            .Select(package => $"references package {package}{PackageVia(rule.Project, package)}"));

        Assert.True(broken.Count == 0, $"{Graph[rule.Project].RelativePath} breaks its rule ({rule.Because}):\n  " + string.Join("\n  ", broken));
    }

    [Fact]
    public void Only_the_standalone_host_references_both_planes()
    {
        var both = Graph.Projects
            .Where(project => !project.RelativePath.StartsWith("tests", StringComparison.Ordinal))
            .Where(project => DependencyRules.Planes.All(plane => project.Name == plane || Graph.ProjectsOf(project.Name).Contains(plane)))
            .Select(project => project.Name)
            .ToList();

        Assert.Equal([DependencyRules.CompositionHost], both);
    }

    [Fact]
    public void Every_rule_names_a_project_that_exists()
    {
        Assert.All(DependencyRules.All.Select(rule => rule.Project).Concat(DependencyRules.Planes).Append(DependencyRules.CompositionHost),
            name => Assert.True(Graph.Contains(name), $"no project {name}: a rule for a renamed project would hold nothing"));
    }

    /// <summary>The graph reads what the tests rely on: the worker's TorchSharp through its property, build-only references apart.</summary>
    [Fact]
    public void The_graph_sees_the_workers_torchsharp_and_tells_build_only_references_apart()
    {
        Assert.Contains(Graph.PackagesOf("Trainer.Worker"), package => package.StartsWith("TorchSharp", StringComparison.Ordinal));
        Assert.Contains("Trainer.Worker", Graph.ProjectsOf("Orchestrator.Standalone"));
        Assert.Contains("Orchestrator.Standalone", Graph["Orchestrator.Bench"].BuildOnly);
        Assert.DoesNotContain("Orchestrator.Standalone", Graph.ProjectsOf("Orchestrator.Bench"));
    }

    /// <summary>" (through A → B)": the first chain of references from <paramref name="from"/> to <paramref name="to"/>, when not direct.</summary>
    private static string Via(string from, string to)
    {
        var path = Path(from, to);
        return path.Count > 2 ? $" (through {string.Join(" → ", path)})" : "";
    }

    private static string PackageVia(string from, string package)
    {
        var owner = Graph.ProjectsOf(from).Prepend(from).First(project => Graph.Contains(project) && Graph[project].Packages.Contains(package));
        return owner == from ? "" : $" (through {string.Join(" → ", Path(from, owner))})";
    }

    private static List<string> Path(string from, string to)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var next) && next != to)
        {
            foreach (var reference in Graph.Contains(next) ? Graph[next].References : [])
            {
                if (previous.TryAdd(reference, next))
                {
                    queue.Enqueue(reference);
                }
            }
        }

        var path = new List<string> { to };
        while (path[^1] != from && previous.TryGetValue(path[^1], out var before))
        {
            path.Add(before);
        }

        path.Reverse();
        return path;
    }
}
