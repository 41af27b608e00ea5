namespace Trainer.Worker.TestHost;

/// <summary>How the test runners pace themselves, bound from section <see cref="Section"/>, e.g. <c>--TestRunners:StepDelay=00:00:00.1</c>.</summary>
public sealed record SteppingRunnerOptions
{
    public const string Section = "TestRunners";

    /// <summary>The time one step takes; long enough for a test to act between checkpoints.</summary>
    public TimeSpan StepDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Steps block their thread and ignore the run's token, as an evaluation that never checks it would.</summary>
    public bool IgnoreStop { get; init; }
}
