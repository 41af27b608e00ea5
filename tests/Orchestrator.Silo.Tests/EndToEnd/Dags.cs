namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>The DAGs the end-to-end tests submit, for the test runners of Trainer.Worker.TestHost (100 ms a step).</summary>
internal static class Dags
{
    /// <summary>
    /// data (three steps, outputs web, human, test) then pretrain on data.web (<paramref name="pretrainSteps"/> steps,
    /// a checkpoint every five, trained by a gang of <paramref name="workers"/>), retried after a one-second backoff
    /// when its worker is lost.
    /// </summary>
    public static string DataThenPretrain(int pretrainSteps, int workers = 1) => $$"""
        name: e2e-data-then-pretrain
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 30, seed: 7 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
            config: { preset: tiny, epochs: {{pretrainSteps}}, checkpoint_every_steps: 5 }
            resources: { workers: {{workers}} }
            retry: { initial_backoff: 1s }
        """;

    /// <summary><see cref="DataThenPretrain"/> and a third stage that continues from pretrain's checkpoint on data.human.</summary>
    public static string DataPretrainFinetune(int pretrainSteps) => DataThenPretrain(pretrainSteps) + """

          - id: continue
            kind: blip.pretrain
            inputs: { train: data.human, init: pretrain.checkpoint }
            config: { preset: tiny, epochs: 5, checkpoint_every_steps: 5 }
        """;

    /// <summary>The running value a test runner ends with after <paramref name="steps"/> steps, resumed or not: 1 + 2 + ... + steps.</summary>
    public static double ValueAfter(long steps) => steps * (steps + 1) / 2;
}
