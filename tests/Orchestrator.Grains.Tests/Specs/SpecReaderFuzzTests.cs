using System.Reflection;
using Orchestrator.Grains.Specs;
using Orchestrator.Testing.Fuzz;
using Xunit.Abstractions;

namespace Orchestrator.Grains.Tests.Specs;

/// <summary>
/// Fuzzes the spec reader and validator (<see cref="SpecReader"/> and <see cref="ExperimentDrafts.Prepare(string, SpecFormat, string, SpecLimits)"/>)
/// with thousands of malformed and adversarial specs, YAML and JSON: alias bombs, deep nesting, huge values, merge and
/// duplicate keys, very wide specs, random edits of the seed corpus (<c>examples/</c> and
/// <see cref="SpecValidationTests"/>' cases), and FsCheck-generated specs full of wrong types, overflowing numbers and
/// unknown keys.
/// </summary>
/// <remarks>
/// Invariants: nothing throws (errors are returned); the node count the reader reports never passes
/// <see cref="SpecLimits.MaxNodes"/> nor its depth <see cref="SpecLimits.MaxDepth"/>; a read stopped by a limit has
/// exactly one error, which names the setting; a draft exists exactly when there is no error; every error has a path
/// and a message, and all of them together stay within a few times the largest spec. The seed is fixed; each test
/// prints its case count, its time and its slowest case (time and description) to standard output, which
/// <c>dotnet test --logger "console;verbosity=normal"</c> shows, as
/// <c>fuzz reader ...: N cases in T s, seed S (replay: SPEC_FUZZ_SEED=S); slowest case X ms: ...</c>.
/// A failure names the case and the variables that replay it (see <see cref="FuzzRun"/>).
/// </remarks>
public sealed class SpecReaderFuzzTests(ITestOutputHelper output)
{
    private const string ExperimentId = "exp-00000000000000000001";

    private static readonly IReadOnlyList<SeedSpec> Corpus = SpecCorpus.Build(ValidationCases());

    [Fact]
    public void Hostile_and_mutated_specs_keep_the_reader_within_its_limits_and_never_throw()
    {
        var run = new FuzzRun("reader: hostile and mutated specs", output);
        foreach (var number in run.CaseNumbers(4000))
        {
            var input = Next(run.CaseRandom(number));
            run.Case(number, input.Description, input.Text, () => run.Count(Check(input)));
        }

        run.Finish();
    }

    [Fact]
    public void Generated_specs_keep_the_reader_within_its_limits_and_never_throw()
    {
        var run = new FuzzRun("reader: FsCheck-generated specs", output);
        foreach (var number in run.CaseNumbers(2500))
        {
            var input = SpecTrees.Draw(run.CaseRandom(number));
            run.Case(number, input.Description, input.Text, () => run.Count(Check(input)));
        }

        run.Finish();
    }

    private static FuzzInput Next(Random random) => random.Next(100) switch
    {
        < 10 => HostileSpecs.AliasBomb(random),
        < 20 => HostileSpecs.DeepNesting(random),
        < 27 => HostileSpecs.HugeScalar(random),
        < 35 => HostileSpecs.MergeKeys(random),
        < 38 => HostileSpecs.Wide(random),
        < 70 => SpecMutations.MutateText(random, Corpus),
        _ => SpecMutations.ReplaceValues(random, Corpus),
    };

    /// <summary>Checks the invariants on one input; returns how it ended: valid, invalid, or the limit that stopped it.</summary>
    private static string Check(FuzzInput input)
    {
        var limits = SpecLimits.Default;
        var read = SpecReader.Read(input.Text, input.Format, limits);

        Assert.InRange(read.Nodes, 0, limits.MaxNodes);
        Assert.InRange(read.Depth, 0, limits.MaxDepth);
        Assert.All(read.Errors, error =>
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            Assert.True(error.Path.Length == 0 || error.Path.StartsWith('/'), $"the path '{error.Path}' is not empty and does not start with '/'");
        });
        if (read.ExceededLimit is not null)
        {
            Assert.Null(read.Spec);
            Assert.Contains(read.ExceededLimit, Assert.Single(read.Errors).Message, StringComparison.Ordinal);
        }

        var prepared = ExperimentDrafts.Prepare(input.Text, input.Format, ExperimentId, limits);

        Assert.Equal(prepared.Draft is null, prepared.Errors.Count > 0);
        Assert.Equal(read.ExceededLimit, prepared.ExceededLimit);
        Assert.InRange(prepared.Errors.Sum(error => (long)error.Message.Length + error.Path.Length), 0, 4L * limits.MaxBytes);
        return prepared.ExceededLimit ?? (prepared.Draft is null ? "invalid" : "valid");
    }

    /// <summary>The validation tests' error cases as whole specs, read from their <c>InlineData</c>.</summary>
    private static IEnumerable<(string Name, string Yaml)> ValidationCases() =>
        typeof(SpecValidationTests).GetMethod(nameof(SpecValidationTests.Each_error_class_is_reported_with_its_path))!
            .GetCustomAttributes<InlineDataAttribute>()
            .SelectMany(data => data.GetData(null!))
            .Select(row => ((string)row[0], $"name: {((string)row[0]).Replace(' ', '-')}\nstages:\n{string.Join('\n', ((string)row[1]).Split('\n').Select(line => "  " + line))}"));
}
