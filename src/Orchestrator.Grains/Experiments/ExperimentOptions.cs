using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Grains.Experiments;

/// <summary>How a silo takes in new experiments.</summary>
public sealed record ExperimentOptions
{
    public const string Section = "Experiments";

    /// <summary>
    /// How many experiments one silo creates at once; further submissions wait their turn (see <see cref="CreationGate"/>).
    /// </summary>
    [Range(1, 256)]
    public int ConcurrentCreations { get; init; } = 1;

    /// <summary>
    /// The most creations one silo holds, running or waiting; a submission past them is answered 503 with
    /// <c>Retry-After</c> and nothing created (see <see cref="CreationGate"/>).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxQueuedCreations { get; init; } = 2000;

    /// <summary>
    /// The longest a submission may wait for its creation at the pace creations have been going; past it the submission
    /// is answered 503 with <c>Retry-After</c>. Well inside Orleans' 30-second response timeout, so no creation times out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:25")]
    public TimeSpan MaxCreationWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an experiment's grains (the experiment and each of its stages) stay in memory with no call before the
    /// silo collects them. Nothing periodic touches an experiment whose runs wait for workers (docs/decisions/reminders-when-due.md),
    /// so once collected a waiting experiment costs only its stored state; the next call (a report, a read, its run placed)
    /// activates it again from storage. Orleans' default, 15 minutes, kept every waiting experiment of a backlog resident
    /// (docs/decisions/idle-collection.md). Orleans collects once a minute, so the age must exceed that.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:30", "1.00:00:00", ErrorMessage = "Experiments:IdleCollectionAge must be from 00:01:30 to 1.00:00:00 (Orleans collects idle grains once a minute), e.g. 00:02:00")]
    public TimeSpan IdleCollectionAge { get; init; } = TimeSpan.FromMinutes(2);
}
