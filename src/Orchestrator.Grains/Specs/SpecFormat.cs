namespace Orchestrator.Grains.Specs;

/// <summary>The formats a spec is accepted in.</summary>
public enum SpecFormat
{
    Json,
    Yaml,
}
