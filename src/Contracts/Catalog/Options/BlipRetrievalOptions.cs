namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip.finetune.retrieval</c> (ITC + ITM finetune; ITC top-k then ITM re-rank). The model's shape comes
/// from the <c>init</c> checkpoint; the ITC/ITM training values (queue, momentum, distillation, negatives) from here.
/// </summary>
public sealed class BlipRetrievalOptions : BlipContrastiveOptions;
