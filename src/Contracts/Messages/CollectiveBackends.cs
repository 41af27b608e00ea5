namespace Orchestrator.Contracts.Messages;

/// <summary>The names of the collective backends a worker advertises, and which one a device's gang uses.</summary>
public static class CollectiveBackends
{
    /// <summary>Gloo over TCP, for gangs of CPU workers.</summary>
    public const string Gloo = "gloo";

    /// <summary>NCCL, for gangs of CUDA workers.</summary>
    public const string Nccl = "nccl";

    /// <summary>The backend a gang of <paramref name="device"/> workers trains through: NCCL on <c>cuda</c>, Gloo otherwise.</summary>
    public static string For(string device) => string.Equals(device, "cuda", StringComparison.OrdinalIgnoreCase) ? Nccl : Gloo;
}
