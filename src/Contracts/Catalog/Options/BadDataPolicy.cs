namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>What a data pipeline does with an entry it cannot use.</summary>
public enum BadDataPolicy
{
    Fail,
    Skip,
}
