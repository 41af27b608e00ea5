using OpenTelemetry.Metrics;
using Orchestrator.Grains;
using Orchestrator.Grains.Experiments.Index;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Feeds the <c>orchestrator_experiments</c> gauge from the experiment index, which is durable: right after a silo
/// restart the gauge shows every experiment again, which counting transitions in memory could not. Every silo
/// reads the same index, so each reports the cluster's counts (the dashboard takes the max over silos). Also gives
/// the counters their zero series once the exporter listens.
/// </summary>
/// <remarks>Taking the <see cref="MeterProvider"/> makes sure the exporter listens before the zeros are published.</remarks>
public sealed class ExperimentCountsPoller(IGrainFactory grains, MeterProvider meterProvider, ILogger<ExperimentCountsPoller> logger) : BackgroundService
{
    /// <summary>As often as Prometheus typically scrapes; each time, one call per day of the index, answered from counts in memory.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Resolved only so that the exporter listens before the zeros are published.
        GC.KeepAlive(meterProvider);
        OrchestratorMetrics.PublishZeros();
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                OrchestratorMetrics.Experiments = await ExperimentIndex.CountByStatusAsync(grains).WaitAsync(Interval, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The cluster may still be joining; the next tick tries again, and the gauge keeps its last counts.
                logger.LogDebug("Could not count experiments by status: {Reason}", exception.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
