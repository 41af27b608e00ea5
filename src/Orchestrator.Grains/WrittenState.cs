using Orleans.Serialization;

namespace Orchestrator.Grains;

/// <summary>
/// A grain's persistent state and a copy of it as last read or written, so that a grain never keeps what it failed to
/// write: a failed write (the storage account unreachable, a try timed out) puts the state back as it was written and
/// rethrows, and the message that caused the change, retried, finds the grain as storage has it and applies again
/// rather than as a duplicate of a change that was never saved. Reads that interleave with a write under way
/// (<see cref="Visible"/>) see the state as written, not a change that may yet be undone; at any other time they see the
/// state the grain holds.
/// </summary>
public sealed class WrittenState<T>(IPersistentState<T> state, DeepCopier<T> copier)
    where T : class
{
    private T? _written;

    /// <summary>The state as last written while a write is under way; the grain's state otherwise.</summary>
    public T Visible => Writing && _written is not null ? _written : state.State;

    /// <summary>A write has started and not yet ended.</summary>
    public bool Writing { get; private set; }

    /// <summary>Keeps a copy of the state as read; call from <c>OnActivateAsync</c>.</summary>
    public void Loaded() => _written = copier.Copy(state.State);

    public async Task WriteAsync()
    {
        var written = _written ?? throw new InvalidOperationException($"{nameof(WrittenState<T>)}.{nameof(Loaded)} was not called on activation.");
        Writing = true;
        try
        {
            await state.WriteStateAsync();
            _written = copier.Copy(state.State);
        }
        catch
        {
            state.State = copier.Copy(written);
            throw;
        }
        finally
        {
            Writing = false;
        }
    }
}
