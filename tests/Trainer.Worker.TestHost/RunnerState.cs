namespace Trainer.Worker.TestHost;

/// <summary>
/// What a test runner's checkpoint holds: the step reached and a running value (the sum of the steps so far), so
/// a resumed run's result shows by its content that it continued from the checkpoint: the value is right only if
/// the state was restored, and <see cref="RunnerResult.ExecutedSteps"/> shows how much was skipped.
/// </summary>
public sealed record RunnerState(long Step, long Value)
{
    public RunnerState Next() => new(Step + 1, Value + Step + 1);
}

/// <summary>What a test runner writes into each output it commits (file <see cref="SteppingRunner.ResultFile"/>).</summary>
public sealed record RunnerResult
{
    public required string Kind { get; init; }
    public required string Output { get; init; }
    public required string RunId { get; init; }
    public required long Steps { get; init; }
    public required long Value { get; init; }
    public required long ExecutedSteps { get; init; }
    public required long ResumedFromStep { get; init; }

    /// <summary>Files read from the run's inputs, by input name: proof that artifacts reached this stage.</summary>
    public required IReadOnlyDictionary<string, int> InputFiles { get; init; }
}
