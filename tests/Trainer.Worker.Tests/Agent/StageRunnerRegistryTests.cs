using Orchestrator.Contracts.Catalog;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Agent;

public sealed class StageRunnerRegistryTests
{
    [Fact]
    public void Finds_the_catalog_kind_and_the_runner_registered_for_it()
    {
        var runner = new NamedRunner("blip.pretrain");
        var registry = new StageRunnerRegistry([runner, new NamedRunner("dataset.synthetic")]);

        var (kind, found) = registry.Find("blip.pretrain");

        Assert.Same(StageKindCatalog.Find("blip.pretrain"), kind);
        Assert.Same(runner, found);
        Assert.Equal(["blip.pretrain", "dataset.synthetic"], registry.Kinds);
    }

    [Fact]
    public void A_worker_without_runners_says_so_when_asked_for_a_catalog_kind()
    {
        var registry = new StageRunnerRegistry([]);

        var error = Assert.Throws<StageKindNotRunnableException>(() => registry.Find("blip2.stage1"));

        Assert.Equal("this worker has no runner for kind 'blip2.stage1'; it runs: none", error.Message);
        Assert.Equal("blip2.stage1", error.Kind);
    }

    [Fact]
    public void A_runner_for_a_kind_outside_the_catalog_is_refused_at_start()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new StageRunnerRegistry([new NamedRunner("blip.pretrian")]));

        Assert.StartsWith("stage runner NamedRunner runs kind 'blip.pretrian', which is not in the stage-kind catalog; give it one of: dataset.synthetic, ",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_runners_for_one_kind_are_refused_at_start()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => new StageRunnerRegistry([new NamedRunner("blip.pretrain"), new NamedRunner("blip.pretrain")]));

        Assert.Equal("stage runners NamedRunner and NamedRunner both run kind 'blip.pretrain'; register one", error.Message);
    }

    private sealed class NamedRunner(string kind) : IStageRunner
    {
        public string Kind => kind;

        public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException("never run in these tests");
    }
}
