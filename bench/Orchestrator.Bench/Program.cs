using System.CommandLine;
using Orchestrator.Bench;

// `bench --experiments N …` and `bench alias-bomb …`, exactly as the silo took them before the benches moved here.
var root = new RootCommand("Orchestration benchmarks; figures with their date and machine are in docs/benchmarks.md.")
{
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
