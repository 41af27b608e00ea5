using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionLanguage.Tasks.Running;

/// <summary>
/// Ports for running a task outside the orchestrator (a bench, a notebook, a test): inputs are folders given by name,
/// checkpoints are kept as <c>step-NNNNNN</c> folders under <c>checkpoints/</c> of the work folder and the newest one is
/// resumed from, progress goes to an optional callback.
/// </summary>
public sealed class LocalTaskRun : ITaskInputs, ITaskCheckpoints, ITaskProgress
{
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _inputs;
    private readonly string _kept;
    private readonly Func<TaskProgress, Task>? _progress;

    /// <param name="workDirectory">The run's folder: its checkpoints and output go under it.</param>
    /// <param name="inputs">The folders of each input, by input name.</param>
    /// <param name="progress">Called after every unit of work (an optimiser step, a shard).</param>
    public LocalTaskRun(string workDirectory, IReadOnlyDictionary<string, IReadOnlyList<string>> inputs, Func<TaskProgress, Task>? progress = null)
    {
        WorkDirectory = Directory.CreateDirectory(workDirectory).FullName;
        _kept = Directory.CreateDirectory(Path.Combine(WorkDirectory, "checkpoints")).FullName;
        _inputs = inputs;
        _progress = progress;
    }

    public string WorkDirectory { get; }

    /// <summary>The checkpoints kept so far, oldest first.</summary>
    public IReadOnlyList<string> Checkpoints => [.. Directory.EnumerateDirectories(_kept, "step-*").Order(StringComparer.Ordinal)];

    /// <summary>The ports of a one-process CPU run of <paramref name="kind"/>.</summary>
    public TaskRun Ports(string kind, ILogger? logger = null) =>
        new(RunIdentity.Local(kind), this, this, this, Path.Combine(WorkDirectory, "run"), logger ?? NullLogger.Instance);

    Task<IReadOnlyList<InputFolder>> ITaskInputs.FetchAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<InputFolder>>(
            _inputs.TryGetValue(name, out var folders) ? [.. folders.Select(folder => new InputFolder(Path.GetFileName(folder), folder))] : []);

    Task<string?> ITaskCheckpoints.ResumeFolderAsync(CancellationToken cancellationToken) => Task.FromResult(Checkpoints.LastOrDefault());

    Task ITaskCheckpoints.SaveAsync(string directory, long step, IReadOnlyDictionary<string, double> metrics)
    {
        var target = Path.Combine(_kept, $"step-{step:D6}");
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return Task.CompletedTask;
    }

    Task ITaskProgress.ReportAsync(TaskProgress progress) => _progress?.Invoke(progress) ?? Task.CompletedTask;

    /// <summary>Nothing watches a local run for hangs.</summary>
    void ITaskProgress.Beat()
    {
    }
}
