using Orchestrator.Contracts.Specs;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Grains.Tests.Specs;

/// <summary>
/// Inputs the spec fuzz suites (<see cref="SpecReaderFuzzTests"/>, and the API's) found to break an invariant, each
/// fixed and pinned here with its exact answer so it stays fixed whatever the fuzzers draw next.
/// </summary>
public sealed class SpecFuzzFindingsTests
{
    [Fact]
    public void A_duration_of_more_seconds_than_a_TimeSpan_holds_is_an_error_not_an_overflow()
    {
        // Found as case 119 of seed 212026 (generated specs): TimeSpan.FromSeconds threw OverflowException.
        var read = SpecReader.Read("""{ "name": "n", "stages": [{ "id": "d", "kind": "dataset.synthetic", "retry": { "initial_backoff": 9223372036854775807 } }] }""", SpecFormat.Json);

        Assert.Equal(
            new SpecError("/stages/0/retry/initial_backoff", "'initial_backoff' of 9223372036854775807 seconds is too long a duration; give one such as 30s, 5m or 1h"),
            Assert.Single(read.Errors));
    }

    [Fact]
    public void A_json_number_past_the_range_of_doubles_is_an_error_not_infinity()
    {
        var read = SpecReader.Read("""{ "name": "n", "stages": [{ "id": "d", "kind": "dataset.synthetic", "retry": { "multiplier": 1e400, "max_backoff": -1e400 } }] }""", SpecFormat.Json);

        Assert.Equal(
            [
                new SpecError("/stages/0/retry/multiplier", "'multiplier' is 1e400, out of the range of numbers; give a number such as 2.5"),
                new SpecError("/stages/0/retry/max_backoff", "'max_backoff' of -1e400 seconds is too long a duration; give one such as 30s, 5m or 1h"),
            ],
            read.Errors);
    }

    [Theory]
    [InlineData("name: n\nstages: [a\nb")]
    [InlineData("name: n\nstages: { a\nb")]
    public void Yaml_that_trips_the_yaml_scanner_into_an_invalid_operation_is_a_syntax_error(string yaml)
    {
        // Found as case 85 of seed 212026 (text edits): YamlDotNet threw InvalidOperationException (aaubry/YamlDotNet#541).
        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Equal(
            new SpecError("", "the body is not valid YAML (the text after line 2, column 9 cannot be read as YAML; look for an unclosed '[' or '{' or a broken line there); fix the syntax at the place named"),
            Assert.Single(read.Errors));
    }

    [Fact]
    public void A_spec_of_thousands_of_stages_gets_the_one_error_that_matters_at_once()
    {
        // Found as case 772 of seed 212026 (12,463 stages, each needing a missing stage): 23.7 s, every error listing every stage.
        var stages = string.Concat(Enumerable.Range(0, 5000).Select(index => $"  - {{ id: s{index}, kind: dataset.synthetic, needs: [ghost] }}\n"));

        var prepared = ExperimentDrafts.Prepare($"name: wide\nstages:\n{stages}", SpecFormat.Yaml, "exp-00000000000000000001");

        Assert.Equal(new SpecError("/stages", "the experiment has 5000 stages, over the limit of 500; split it"), Assert.Single(prepared.Errors));
    }

    [Fact]
    public void An_error_that_lists_the_stages_lists_twenty_and_counts_the_rest()
    {
        var stages = string.Concat(Enumerable.Range(0, 30).Select(index => $"  - {{ id: s{index}, kind: dataset.synthetic }}\n"));

        var prepared = ExperimentDrafts.Prepare($"name: many\nstages:\n{stages}  - {{ id: last, kind: dataset.synthetic, needs: [ghost] }}\n", SpecFormat.Yaml, "exp-00000000000000000001");

        Assert.Equal(
            new SpecError("/stages/30/needs/0", $"'needs' names stage 'ghost', which is not in the experiment; stages are: {string.Join(", ", Enumerable.Range(0, 20).Select(index => $"s{index}"))} and 11 more"),
            Assert.Single(prepared.Errors));
    }
}
