namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>blip.finetune.retrieval</c> (ITC + ITM finetune; ITC top-k then ITM re-rank).</summary>
public sealed class BlipRetrievalOptions : BlipPretrainOptions;
