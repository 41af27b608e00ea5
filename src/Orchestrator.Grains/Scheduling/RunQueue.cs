using System.Collections;
using System.Globalization;
using System.Text;

namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The runs waiting for workers, indexed by what they need (<see cref="RunShape"/>): every run of a shape fits the
/// same workers, so a scheduling pass asks once per shape whether the free capacity takes it, however many runs of that
/// shape wait (Kueue's flavors, Slurm's partitions). Within a shape runs are in assignment order: higher priority
/// first, then round-robin across experiments (a fair tag, as start-time fair queueing gives each flow), then first
/// come first served, so a sweep of 500 stages does not hold back an experiment that arrives after it.
/// </summary>
public sealed class RunQueue : IReadOnlyCollection<QueuedRun>
{
    private readonly Dictionary<string, RunShape> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedRun> _byRunId = new(StringComparer.Ordinal);

    /// <summary>Per priority, the highest fair tag placed: the round the queue has reached.</summary>
    private readonly Dictionary<int, long> _round = [];

    /// <summary>Per experiment and priority, the fair tag of its newest queued run and how many of its runs wait.</summary>
    private readonly Dictionary<(string ExperimentId, int Priority), (long Tag, int Waiting)> _flows = [];

    private long _nextSequence;

    public int Count => _byRunId.Count;

    /// <summary>The shapes with runs waiting.</summary>
    public IReadOnlyCollection<RunShape> Shapes => _shapes.Values;

    public bool Contains(string runId) => _byRunId.ContainsKey(runId);

    /// <summary>The queued run <paramref name="runId"/>; null when it is not queued.</summary>
    public RunRequest? Find(string runId) => _byRunId.GetValueOrDefault(runId)?.Request;

    /// <summary>
    /// Queues a run behind its experiment's earlier runs of the same priority, and level with the next run of every
    /// other experiment: its fair tag is one past its experiment's last queued tag, and at least the round reached
    /// (start-time fair queueing), so an experiment with nothing waiting joins at the current round.
    /// </summary>
    public QueuedRun Add(RunRequest request)
    {
        var flow = (request.ExperimentId, request.Priority);
        var last = _flows.GetValueOrDefault(flow);
        var tag = Math.Max(last.Tag + 1, _round.GetValueOrDefault(request.Priority));
        _flows[flow] = (tag, last.Waiting + 1);

        var queued = new QueuedRun(_nextSequence++, tag, request);
        var key = RunShape.KeyOf(request);
        if (!_shapes.TryGetValue(key, out var shape))
        {
            shape = new RunShape(key, request.Kind, request.Resources);
            _shapes[key] = shape;
        }

        shape.Runs.Add(queued);
        _byRunId[request.RunId] = queued;
        return queued;
    }

    /// <summary>Takes a run out of the queue; <paramref name="placed"/> moves the round on to its tag.</summary>
    public bool Remove(string runId, bool placed = false)
    {
        if (!_byRunId.Remove(runId, out var queued))
        {
            return false;
        }

        var request = queued.Request;
        var key = RunShape.KeyOf(request);
        var shape = _shapes[key];
        shape.Runs.Remove(queued);
        if (shape.Runs.Count == 0)
        {
            _shapes.Remove(key);
        }

        var flow = (request.ExperimentId, request.Priority);
        var (tag, waiting) = _flows[flow];
        if (waiting == 1)
        {
            _flows.Remove(flow);
        }
        else
        {
            _flows[flow] = (tag, waiting - 1);
        }

        if (placed)
        {
            _round[request.Priority] = Math.Max(_round.GetValueOrDefault(request.Priority), queued.Tag);
        }

        return true;
    }

    /// <summary>Every waiting run in assignment order (for views and tests; a pass reads shapes instead).</summary>
    public IEnumerator<QueuedRun> GetEnumerator() =>
        _shapes.Values.SelectMany(shape => shape.Runs).Order(QueuedRun.AssignmentOrder).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>What a run needs of a worker, the same for every run of the shape: its kind and its resources.</summary>
public sealed class RunShape(string key, string kind, ResourceNeeds needs)
{
    public string Key { get; } = key;

    public string Kind { get; } = kind;

    public ResourceNeeds Needs { get; } = needs;

    /// <summary>The shape's waiting runs in assignment order.</summary>
    public SortedSet<QueuedRun> Runs { get; } = new(QueuedRun.AssignmentOrder);

    /// <summary>
    /// A key equal for runs that fit exactly the same workers: each part length-prefixed (so no label or path can pass for
    /// another part), labels and import paths in a fixed order.
    /// </summary>
    public static string KeyOf(RunRequest request)
    {
        var needs = request.Resources;
        var key = new StringBuilder();
        Part(key, request.Kind);
        Part(key, needs.Workers.ToString(CultureInfo.InvariantCulture));
        Part(key, needs.Slots.ToString(CultureInfo.InvariantCulture));
        Part(key, needs.Device.ToLowerInvariant());
        Part(key, needs.MemoryGib.ToString("R", CultureInfo.InvariantCulture));
        foreach (var (name, value) in needs.Labels.OrderBy(label => label.Key, StringComparer.Ordinal))
        {
            Part(Part(key, name), value);
        }

        key.Append('/');
        foreach (var path in needs.ImportPaths.Order(StringComparer.Ordinal))
        {
            Part(key, path);
        }

        return key.ToString();
    }

    private static StringBuilder Part(StringBuilder key, string part) =>
        key.Append(part.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(part);
}
