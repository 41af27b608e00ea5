using System.Reflection;
using NetArchTest.Rules;

namespace Orchestrator.Architecture.Tests;

/// <summary>
/// The dependency rules a project graph cannot see, held over the types of the built assemblies: which namespaces of
/// one assembly may use which, and what a type may touch beyond its project's references (a project that references
/// TorchSharp for its runners must not let its agent use it).
/// </summary>
public sealed class TypeDependencyTests
{
    private static readonly string[] Orchestration = ["Orchestrator", "MassTransit", "Microsoft.AspNetCore", "Azure", "Microsoft.Orleans", "Orleans"];

    [Fact]
    public void The_workers_agent_and_consumers_touch_no_torch_and_no_vision_language_code()
    {
        AssertNone(
            Types.InAssembly(Built("src/Trainer.Worker", "Trainer.Worker")).That().ResideInNamespace("Trainer.Worker.Agent")
                .Or().ResideInNamespace("Trainer.Worker.Consumers")
                .ShouldNot().HaveDependencyOnAny("TorchSharp", "VisionLanguage").GetResult(),
            "the agent schedules, reports and fetches; what needs libtorch is the runners' (Trainer.Worker.Runners.TorchRuntime)");
    }

    [Fact]
    public void The_runners_depend_on_nothing_of_the_agent_that_runs_them()
    {
        AssertNone(
            Types.InAssembly(Built("src/Trainer.Worker", "Trainer.Worker")).That().ResideInNamespace("Trainer.Worker.Runners")
                .ShouldNot().HaveDependencyOnAny("Trainer.Worker.Agent", "Trainer.Worker.Consumers").GetResult(),
            "the agent runs the runners, not the other way round (their reports go through IStageRunReports)");
    }

    [Fact]
    public void Runners_see_the_wire_message_only_through_the_stage_run_context_and_the_task_ports()
    {
        AssertNone(
            Types.InAssembly(Built("src/Trainer.Worker", "Trainer.Worker")).That().ResideInNamespace("Trainer.Worker.Runners")
                .And().DoNotHaveName("StageRunContext", "StageTaskPorts")
                .ShouldNot().HaveDependencyOnAny("Orchestrator.Contracts.Messages.StartStageRun").GetResult(),
            "a runner maps its options onto a task and hands it narrow ports (run identity, input folders, checkpoints, progress)");
    }

    [Theory]
    [InlineData("VisionLanguage.Models")]
    [InlineData("VisionLanguage.Data")]
    [InlineData("VisionLanguage.Training")]
    [InlineData("VisionLanguage.Evaluation")]
    [InlineData("VisionLanguage.Tasks")]
    public void The_vision_language_libraries_touch_nothing_of_the_orchestrator(string library)
    {
        AssertNone(
            Types.InAssembly(Built("src/Trainer.Worker", library)).ShouldNot().HaveDependencyOnAny(Orchestration).GetResult(),
            "usable from a bench or a notebook, with their own settings instead of the orchestrator's option classes");
    }

    [Fact]
    public void The_models_touch_no_data_training_evaluation_or_task_code()
    {
        AssertNone(
            Types.InAssembly(Built("src/Trainer.Worker", "VisionLanguage.Models"))
                .ShouldNot().HaveDependencyOnAny("VisionLanguage.Data", "VisionLanguage.Training", "VisionLanguage.Evaluation", "VisionLanguage.Tasks").GetResult(),
            "a model is built, loaded and run the same whatever feeds or trains it");
    }

    [Fact]
    public void The_grains_touch_neither_the_worker_side_nor_the_bus()
    {
        AssertNone(
            Types.InAssembly(Built("src/Orchestrator.Silo", "Orchestrator.Grains"))
                .ShouldNot().HaveDependencyOnAny("TorchSharp", "VisionLanguage", "Trainer", "MassTransit", "Microsoft.AspNetCore").GetResult(),
            "grains and their cores are the orchestration logic; hosts wire them to the bus and the API");
    }

    /// <summary>The assembly <paramref name="name"/> from the Release output of <paramref name="project"/>; its types are read, not run.</summary>
    private static Assembly Built(string project, string name)
    {
        var path = Path.Combine(BuiltHosts.Output(project), name + ".dll");
        Assert.True(File.Exists(path), $"{path} is not built; build the solution first (the test command does)");
        return Assembly.LoadFrom(path);
    }

    private static void AssertNone(TestResult result, string because) =>
        Assert.True(result.IsSuccessful, $"{because}; these types break it: {string.Join(", ", result.FailingTypes?.Select(type => type.FullName) ?? [])}");
}
