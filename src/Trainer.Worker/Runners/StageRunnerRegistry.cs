using Orchestrator.Contracts.Catalog;

namespace Trainer.Worker.Runners;

/// <summary>
/// The stage runners this worker has (every <see cref="IStageRunner"/> in the container), each matched to its
/// kind in <see cref="StageKindCatalog"/> so the worker and the orchestrator agree on inputs, outputs and options.
/// </summary>
public sealed class StageRunnerRegistry
{
    private readonly Dictionary<string, IStageRunner> _runners = new(StringComparer.Ordinal);

    public StageRunnerRegistry(IEnumerable<IStageRunner> runners)
    {
        // A runner for a kind the catalog lacks, or two runners for one kind, is a wiring bug: fail at start.
        foreach (var runner in runners)
        {
            if (StageKindCatalog.Find(runner.Kind) is null)
            {
                throw new InvalidOperationException(
                    $"stage runner {runner.GetType().Name} runs kind '{runner.Kind}', which is not in the stage-kind catalog; " +
                    $"give it one of: {string.Join(", ", StageKindCatalog.All.Select(kind => kind.Name))}");
            }

            if (!_runners.TryAdd(runner.Kind, runner))
            {
                throw new InvalidOperationException(
                    $"stage runners {_runners[runner.Kind].GetType().Name} and {runner.GetType().Name} both run kind '{runner.Kind}'; register one");
            }
        }
    }

    /// <summary>The kinds this worker runs, in name order.</summary>
    public IReadOnlyList<string> Kinds => [.. _runners.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The catalog's kind and this worker's runner for <paramref name="kind"/>.</summary>
    /// <exception cref="StageKindNotRunnableException">The kind is unknown, or this worker has no runner for it.</exception>
    public (StageKind Kind, IStageRunner Runner) Find(string kind)
    {
        var known = StageKindCatalog.Find(kind) ?? throw new StageKindNotRunnableException(kind,
            $"kind '{kind}' is not in the stage-kind catalog; known kinds: {string.Join(", ", StageKindCatalog.All.Select(k => k.Name))}");
        return _runners.TryGetValue(kind, out var runner)
            ? (known, runner)
            : throw new StageKindNotRunnableException(kind,
                $"this worker has no runner for kind '{kind}'; it runs: {(_runners.Count == 0 ? "none" : string.Join(", ", Kinds))}");
    }
}
