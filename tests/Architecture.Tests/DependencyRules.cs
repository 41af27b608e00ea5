namespace Orchestrator.Architecture.Tests;

/// <summary>
/// One dependency rule over the project graph, as data: a project's references and packages, counted transitively
/// through its project references, may only match <see cref="OnlyProjects"/> and <see cref="OnlyPackages"/> when they are
/// given, and never <see cref="NeverProjects"/> or <see cref="NeverPackages"/>. A pattern ending in <c>*</c> is a prefix.
/// </summary>
public sealed record DependencyRule(string Project, string Because)
{
    public IReadOnlyList<string>? OnlyProjects { get; init; }
    public IReadOnlyList<string>? OnlyPackages { get; init; }
    public IReadOnlyList<string> NeverProjects { get; init; } = [];
    public IReadOnlyList<string> NeverPackages { get; init; } = [];

    public override string ToString() => Project;
}

/// <summary>The rules of docs/decisions/house-layout.md ("Dependency rules"). Add a rule here; the tests pick it up.</summary>
public static class DependencyRules
{
    /// <summary>The worker side: what the control plane and the shared libraries never reference.</summary>
    private static readonly string[] WorkerSide = ["Trainer.Worker", "VisionLanguage.*"];

    private static readonly string[] Torch = ["TorchSharp*", "libtorch*"];

    /// <summary>What the vision-language libraries never reference: the orchestrator's messaging, hosting, storage and actors (the ASP.NET Core shared framework counts as a package here).</summary>
    private static readonly string[] Orchestration = ["MassTransit*", "Azure.*", "Microsoft.AspNetCore.*", "Microsoft.Orleans.*", "OpenTelemetry*", "Polly*"];

    public static readonly IReadOnlyList<DependencyRule> All =
    [
        new("Contracts", "the wire and the DAG spec types depend on nothing")
        {
            OnlyProjects = [],
            OnlyPackages = [],
        },
        new("Orchestrator.Grains", "grains and their cores need Orleans, YAML and Microsoft.Extensions only")
        {
            OnlyProjects = ["Contracts"],
            OnlyPackages = ["Microsoft.Orleans.*", "YamlDotNet", "Microsoft.Extensions.*"],
        },
        new("Orchestrator.Silo", "the cluster host ships without the worker side or TorchSharp")
        {
            NeverProjects = WorkerSide,
            NeverPackages = Torch,
        },
        new("Orchestrator.Hosting", "both planes reference what every host shares")
        {
            NeverProjects = [.. WorkerSide, "Orchestrator.Silo", "Orchestrator.Grains"],
            NeverPackages = [.. Torch, "Microsoft.Orleans.*"],
        },
        new("Artifacts", "the artifact store serves both planes and tools alike")
        {
            NeverProjects = [.. WorkerSide, "Orchestrator.Silo", "Orchestrator.Grains", "Orchestrator.Hosting"],
            NeverPackages = [.. Torch, "Microsoft.Orleans.*", "MassTransit*"],
        },
        new("Orchestrator.Bench", "the orchestration bench drives the silo's grains; it starts the standalone host as a process")
        {
            NeverProjects = WorkerSide,
            NeverPackages = Torch,
        },
        new("VisionLanguage.Models", "models never reference data or training, nor anything of the orchestrator")
        {
            OnlyProjects = [],
            NeverPackages = Orchestration,
        },
        new("VisionLanguage.Data", "data builds the models' inputs and knows nothing of training or the orchestrator")
        {
            OnlyProjects = ["VisionLanguage.Models"],
            NeverPackages = Orchestration,
        },
        new("VisionLanguage.Training", "the loop trains models on data, usable from a bench or a notebook")
        {
            OnlyProjects = ["VisionLanguage.Models", "VisionLanguage.Data"],
            NeverPackages = Orchestration,
        },
        new("VisionLanguage.Evaluation", "metrics depend on nothing of ours")
        {
            OnlyProjects = [],
            NeverPackages = Orchestration,
        },
        new("VisionLanguage.Tasks", "a task builds, trains and evaluates a model for one stage kind, without the orchestrator")
        {
            OnlyProjects = ["VisionLanguage.*"],
            NeverPackages = Orchestration,
        },
    ];


    /// <summary>The two planes: only <see cref="CompositionHost"/>, among src/ and bench/, references both.</summary>
    public static readonly IReadOnlyList<string> Planes = ["Orchestrator.Silo", "Trainer.Worker"];

    public const string CompositionHost = "Orchestrator.Standalone";

    public static bool Matches(string name, string pattern) =>
        pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : string.Equals(name, pattern, StringComparison.Ordinal);
}
