using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Orchestrator.Testing.Fuzz;

/// <summary>
/// One run of a fuzz suite: a pinned seed, a case count, the slowest case, and every broken invariant, reported at the
/// end with what is needed to replay it.
/// </summary>
/// <remarks>
/// The seed is fixed (<see cref="DefaultSeed"/>) so CI runs the same cases every time; <c>SPEC_FUZZ_SEED=N</c> runs
/// others, <c>SPEC_FUZZ_CASE=I</c> runs only case I of that seed (each case draws from its own generator, so it
/// replays alone), and <c>SPEC_FUZZ_SCALE=K</c> multiplies the case counts for a longer local run. The summary goes to
/// the test's output and to standard output, because <c>dotnet test --logger "console;verbosity=normal"</c> shows a
/// passing xUnit 2 test's standard output but not what it wrote to <see cref="ITestOutputHelper"/>.
/// </remarks>
internal sealed class FuzzRun(string suite, ITestOutputHelper output)
{
    public const int DefaultSeed = 21_2026;
    private const int MaxFailuresKept = 20;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _failures = [];
    private readonly SortedDictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private int _failed;

    public int Seed { get; } = Setting("SPEC_FUZZ_SEED") ?? DefaultSeed;

    public int Cases { get; private set; }

    public TimeSpan Slowest { get; private set; }

    public string SlowestCase { get; private set; } = "(none)";

    /// <summary>How many cases a suite of <paramref name="baseCount"/> runs: scaled, or the one case being replayed.</summary>
    public IEnumerable<int> CaseNumbers(int baseCount) =>
        Setting("SPEC_FUZZ_CASE") is { } only ? [only] : Enumerable.Range(0, baseCount * (Setting("SPEC_FUZZ_SCALE") ?? 1));

    /// <summary>The generator of case <paramref name="number"/>: the same for the same seed on every machine.</summary>
    public Random CaseRandom(int number) => new(unchecked((Seed * 1_000_003) + number));

    /// <summary>Runs one case, timing it, and records a broken invariant (an exception it throws) with its input.</summary>
    public async Task CaseAsync(int number, string description, string input, Func<Task> check)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await check();
        }
        catch (Exception exception)
        {
            Fail(number, description, input, exception);
        }

        Record(description, clock.Elapsed);
    }

    /// <summary>Runs one synchronous case; see <see cref="CaseAsync"/>.</summary>
    public void Case(int number, string description, string input, Action check) =>
        CaseAsync(number, description, input, () =>
        {
            check();
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    /// <summary>Counts a case run elsewhere (by FsCheck) with its time.</summary>
    public void Record(string description, TimeSpan elapsed)
    {
        Cases++;
        if (elapsed > Slowest)
        {
            (Slowest, SlowestCase) = (elapsed, description);
        }
    }

    /// <summary>Counts an outcome (a status code, an error kind) for the summary, to show what the cases reached.</summary>
    public void Count(string outcome) => _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;

    /// <summary>Prints the summary, then fails the test with every broken invariant if there was one.</summary>
    public void Finish()
    {
        var outcomes = string.Join(", ", _outcomes.Select(outcome => $"{outcome.Key} {outcome.Value}"));
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"fuzz {suite}: {Cases} cases in {_clock.Elapsed.TotalSeconds:0.0} s, seed {Seed} (replay: SPEC_FUZZ_SEED={Seed}); " +
            $"slowest case {Slowest.TotalMilliseconds:0.0} ms: {SlowestCase}; {_failed} failed; outcomes: {outcomes}");
        output.WriteLine(summary);
        Console.WriteLine(summary);
        if (_failed > 0)
        {
            Assert.Fail($"{summary}\n\n{string.Join("\n\n", _failures)}");
        }
    }

    private void Fail(int number, string description, string input, Exception exception)
    {
        _failed++;
        if (_failures.Count < MaxFailuresKept)
        {
            // The whole input goes to a file, to turn into a regression test; the message holds only its ends.
            var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "spec-fuzz", $"seed-{Seed}")).FullName;
            var file = Path.Combine(folder, $"{string.Concat(suite.Where(char.IsLetterOrDigit))}-case-{number}.txt");
            File.WriteAllText(file, input);
            _failures.Add(
                $"case {number} ({description}); replay with SPEC_FUZZ_SEED={Seed} SPEC_FUZZ_CASE={number}; input in {file}\n" +
                $"input ({input.Length} chars): {Shorten(input, 600)}\n{Shorten(exception.ToString(), 2000)}");
        }
    }

    public static string Shorten(string text, int length) =>
        text.Length <= length ? text : $"{text[..(length / 2)]} [... {text.Length - length} more ...] {text[^(length / 2)..]}";

    private static int? Setting(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
