namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>How captions are decoded.</summary>
public enum DecodingMethod
{
    Beam,
    Nucleus,
}
