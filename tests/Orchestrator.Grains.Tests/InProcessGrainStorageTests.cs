using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Grains.Tests;

public sealed class InProcessGrainStorageTests
{
    private static readonly GrainId Grain = GrainId.Create("test", "a");

    private readonly InProcessGrainStorage _storage = new(new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    [Fact]
    public async Task A_read_returns_a_copy_of_what_was_written_with_its_etag()
    {
        var written = new GrainState<Dictionary<string, string>>(new Dictionary<string, string> { ["stage"] = "Queued" });
        await _storage.WriteStateAsync("state", Grain, written);
        written.State!["stage"] = "changed after the write";

        var read = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>());
        await _storage.ReadStateAsync("state", Grain, read);

        Assert.Equal("Queued", read.State!["stage"]);
        Assert.NotSame(written.State, read.State);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
    }

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_changes_nothing()
    {
        var first = new GrainState<Dictionary<string, string>>(new Dictionary<string, string> { ["v"] = "1" });
        await _storage.WriteStateAsync("state", Grain, first);
        var stale = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>());
        await _storage.ReadStateAsync("state", Grain, stale);
        first.State!["v"] = "2";
        await _storage.WriteStateAsync("state", Grain, first);

        stale.State!["v"] = "stale";
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("state", Grain, stale));
        var never = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>(), eTag: "1");
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("other", Grain, never));

        var read = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>());
        await _storage.ReadStateAsync("state", Grain, read);
        Assert.Equal("2", read.State!["v"]);
        var other = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>());
        await _storage.ReadStateAsync("other", Grain, other);
        Assert.False(other.RecordExists);
    }

    [Fact]
    public async Task A_cleared_state_reads_as_absent_and_can_be_written_again()
    {
        var state = new GrainState<Dictionary<string, string>>(new Dictionary<string, string> { ["v"] = "1" });
        await _storage.WriteStateAsync("state", Grain, state);
        await _storage.ClearStateAsync("state", Grain, state);

        var read = new GrainState<Dictionary<string, string>>(new Dictionary<string, string>());
        await _storage.ReadStateAsync("state", Grain, read);
        Assert.False(state.RecordExists);
        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Empty(read.State!);

        await _storage.WriteStateAsync("state", Grain, state);
        Assert.True(state.RecordExists);
    }
}
