using System.Text.Json;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// A <c>blip.capfilt</c> checkpoint: the scored candidates of every finished shard (<c>shard-NNNNN.json</c>, each a
/// <see cref="CapfiltScoresFile"/>) and <c>capfilt_state.json</c>, which says how the web images were cut into shards
/// and how captions were drawn, so a resumed run reuses the shards only when it would have computed the same ones.
/// </summary>
public sealed record CapfiltShardCheckpoint(CapfiltShardPlan Plan, IReadOnlyList<IReadOnlyList<CapfiltCandidate>> Shards)
{
    public const string StateFile = "capfilt_state.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        for (var shard = 0; shard < Shards.Count; shard++)
        {
            CapfiltScoresFile.Write(Path.Combine(directory, ShardFile(shard)), Shards[shard]);
        }

        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(new State(Plan, Shards.Count), Json));
    }

    /// <summary>The checkpoint in <paramref name="directory"/>, or null when it is not a capfilt checkpoint.</summary>
    public static CapfiltShardCheckpoint? Read(string directory)
    {
        var path = Path.Combine(directory, StateFile);
        if (!File.Exists(path))
        {
            return null;
        }

        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty");
        var shards = Enumerable.Range(0, state.FinishedShards)
            .Select(shard => CapfiltScoresFile.Read(Path.Combine(directory, ShardFile(shard)), $"checkpoint shard {shard}"))
            .ToList();
        return new CapfiltShardCheckpoint(state.Plan, shards);
    }

    private static string ShardFile(int shard) => $"shard-{shard:D5}.json";

    private sealed record State(CapfiltShardPlan Plan, int FinishedShards);
}
