namespace Orchestrator.Contracts.Specs;

/// <summary>The accelerator a stage asks for, or a worker offers.</summary>
public enum DeviceKind
{
    /// <summary>Any device; only valid in a request.</summary>
    Any,
    Cpu,
    Cuda,
}
