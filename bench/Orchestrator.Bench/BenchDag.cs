namespace Orchestrator.Bench;

/// <summary>The design's BLIP CapFilt DAG, plus a final retrieval finetune of the re-pretrained model: seven stages.</summary>
internal static class BenchDag
{
    public const int Stages = 7;

    public const string Yaml = """
        name: bench-blip-capfilt
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 2000, web_noise: 0.4, seed: 7 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
            config: { preset: tiny, epochs: 3 }
          - id: captioner
            kind: blip.finetune.caption
            inputs: { init: pretrain.checkpoint, train: data.human }
          - id: filter
            kind: blip.finetune.retrieval
            inputs: { init: pretrain.checkpoint, train: data.human }
          - id: capfilt
            kind: blip.capfilt
            inputs: { captioner: captioner.checkpoint, filter: filter.checkpoint, web: data.web }
          - id: repretrain
            kind: blip.pretrain
            inputs: { train: [capfilt.dataset, data.human] }
          - id: retrieval
            kind: blip.finetune.retrieval
            inputs: { init: repretrain.checkpoint, train: data.human, eval: data.test }
        """;
}
