namespace Orchestrator.Grains.Stages;

/// <summary>Stage grains are keyed <c>{experimentId}/{stageId}</c>; neither part may contain '/'.</summary>
public static class StageKey
{
    public static string Of(string experimentId, string stageId) => $"{experimentId}/{stageId}";
}
