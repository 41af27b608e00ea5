using Orchestrator.Testing.Observability;

namespace Orchestrator.Helm.Tests;

/// <summary>Reading the dashboard's PromQL, without a Prometheus: what <c>DashboardTests</c> (Orchestrator.Silo.Tests, against a live Prometheus) relies on.</summary>
public sealed class DashboardQueriesTests
{
    [Theory]
    [InlineData("histogram_quantile(0.95, sum by (le, kind) (rate(orchestrator_stage_duration_seconds_bucket[$__rate_interval])))", "orchestrator_stage_duration_seconds_bucket")]
    [InlineData("sum by (kind, status) (a_sum) / sum by (kind, status) (a_count)", "a_sum a_count")]
    [InlineData("trainer_run_loss{experiment=~\"$experiment\",stage=~\"a.b\"}", "trainer_run_loss")]
    [InlineData("avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL) or on (gpu) up offset 5m", "DCGM_FI_DEV_GPU_UTIL up")]
    [InlineData("sum without (instance) (rate(x_total[5m])) > bool 1e-3", "x_total")]
    public void The_metric_names_of_an_expression_leave_out_functions_labels_keywords_and_numbers(string expression, string names)
    {
        Assert.Equal(names.Split(' '), DashboardQueries.MetricNames(expression));
    }

    [Fact]
    public void Variables_are_substituted_in_both_spellings_and_an_unknown_one_is_an_error()
    {
        var values = new Dictionary<string, string> { ["stage"] = ".*", ["experiment"] = "exp-1" };

        Assert.Equal("m{experiment=~\"exp-1\",stage=~\".*\"}", DashboardQueries.Substitute("m{experiment=~\"${experiment}\",stage=~\"$stage\"}", values));
        Assert.Throws<InvalidOperationException>(() => DashboardQueries.Substitute("rate(m[$__range])", values));
    }

    [Fact]
    public async Task Every_query_of_the_dashboard_reads_a_metric_and_uses_only_the_variables_the_prometheus_test_sets()
    {
        var queries = DashboardQueries.Read(await File.ReadAllTextAsync(BuiltHosts.RepositoryFile("helm", "blip-orchestrator", "dashboards", "blip-orchestrator.json")));
        var values = new Dictionary<string, string> { ["experiment"] = ".*", ["stage"] = ".*", ["datasource"] = "p", ["__rate_interval"] = "1m" };

        Assert.Contains(queries, query => query.Panel == "variable stage");
        Assert.All(queries, query => Assert.NotEmpty(DashboardQueries.MetricNames(DashboardQueries.Substitute(query.Expression, values))));
        Assert.Contains(queries, query => query.Expression.Contains("DCGM_FI_DEV_FB_USED", StringComparison.Ordinal));
    }
}
