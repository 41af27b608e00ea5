using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using TorchSharp;
using VisionLanguage.Training;
using VisionLanguage.Training.Distributed;

namespace Trainer.Worker.TestHost;

/// <summary>
/// Test-only: a stage runner that behaves like a training loop without training. It fetches its inputs, resumes
/// from the checkpoint it is given, takes its steps (a delay each), reports progress, saves a checkpoint every few
/// steps (and when stopped), and commits every output its kind declares. Outputs and final metrics say how many
/// steps this attempt ran and where it resumed, so a test can tell a resumed run from a fresh one by content. In a gang
/// the ranks meet through the orchestrator and sum one number a step over the real collectives; only rank 0 checkpoints
/// and commits outputs.
/// </summary>
public abstract class SteppingRunner(IOptions<SteppingRunnerOptions> options) : IStageRunner
{
    public const string StateFile = "state.json";
    public const string ResultFile = "result.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public abstract string Kind { get; }

    /// <summary>The steps of the whole run and the steps between checkpoints, from the run's options.</summary>
    protected abstract (long Steps, long CheckpointEvery) Plan(StageRunContext context);

    /// <summary>
    /// Whether the runner looks up a cache in the artifact store before its steps and keeps one on a miss, as a stage
    /// with <c>image_features: cache</c> does, so the worker's cache-lookup series exist for a dashboard test.
    /// </summary>
    protected virtual bool LooksUpCache => false;

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var (steps, checkpointEvery) = Plan(context);
        var inputFiles = await FetchInputsAsync(context, cancellationToken);
        if (LooksUpCache && context.Run.Rank == 0)
        {
            await LookUpCacheAsync(context, cancellationToken);
        }

        var resume = await context.FetchResumeCheckpointAsync(cancellationToken);
        var state = resume is null
            ? new RunnerState(0, 0)
            : JsonSerializer.Deserialize<RunnerState>(await File.ReadAllTextAsync(Path.Combine(resume.Directory, StateFile), cancellationToken), Json)!;
        var resumedFrom = state.Step;
        context.Logger.LogInformation("Test runner: {Steps} steps, a checkpoint every {Every}, starting at step {Step}", steps, checkpointEvery, resumedFrom);

        var stateDirectory = Path.Combine(context.WorkDirectory, "state");
        Directory.CreateDirectory(stateDirectory);
        // A gang's ranks meet through the orchestrator and sum one number a step, as a trainer averages its gradients.
        var gang = await context.ConnectGangAsync(cancellationToken);
        var writesState = context.Run.Rank == 0;
        try
        {
            using var abort = gang is null ? default : context.Aborted.Register(gang.Abort);
            while (state.Step < steps)
            {
                if (options.Value.IgnoreStop)
                {
                    Thread.Sleep(options.Value.StepDelay);
                }
                else
                {
                    await Task.Delay(options.Value.StepDelay, cancellationToken);
                }

                var allReduceShare = gang is null ? (double?)null : SumAcross(gang, state.Step);
                state = state.Next();
                await context.ReportProgressAsync(state.Step, steps, metrics: ProgressMetrics(state, allReduceShare));
                if (writesState && state.Step % checkpointEvery == 0 && state.Step < steps)
                {
                    await SaveCheckpointAsync(context, stateDirectory, state);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (writesState)
            {
                await SaveCheckpointAsync(context, stateDirectory, state);
            }

            throw;
        }
        finally
        {
            (gang as IDisposable)?.Dispose();
        }

        if (!writesState)
        {
            // The gang's other ranks only train: rank 0 reports the outputs.
            return new StageRunResult { Outputs = new Dictionary<string, ArtifactReference>(), Metrics = new Dictionary<string, double>() };
        }

        var metrics = new Dictionary<string, double>
        {
            ["steps"] = steps,
            ["value"] = state.Value,
            ["executed_steps"] = steps - resumedFrom,
            ["resumed_from_step"] = resumedFrom,
        };
        var outputs = new Dictionary<string, ArtifactReference>();
        foreach (var output in context.Kind.Outputs)
        {
            var directory = Path.Combine(context.WorkDirectory, "outputs", output.Name);
            Directory.CreateDirectory(directory);
            var result = new RunnerResult
            {
                Kind = Kind,
                Output = output.Name,
                RunId = context.Run.RunId,
                Steps = steps,
                Value = state.Value,
                ExecutedSteps = steps - resumedFrom,
                ResumedFromStep = resumedFrom,
                InputFiles = inputFiles,
            };
            await File.WriteAllTextAsync(Path.Combine(directory, ResultFile), JsonSerializer.Serialize(result, Json), cancellationToken);
            outputs[output.Name] = await context.CommitOutputAsync(output.Name, directory, metrics, cancellationToken);
        }

        return new StageRunResult { Outputs = outputs, Metrics = metrics };
    }

    /// <summary>
    /// The running value, and stand-ins for a training loop's values under the names the worker exports as its
    /// training series (<see cref="ProgressMetricKeys"/>), so that a dashboard test finds every series.
    /// </summary>
    private Dictionary<string, double> ProgressMetrics(RunnerState state, double? allReduceShare)
    {
        var metrics = new Dictionary<string, double>
        {
            ["value"] = state.Value,
            [ProgressMetricKeys.Loss] = 3.0 / state.Step,
            [ProgressMetricKeys.LossPrefix + "itc"] = 1.0 / state.Step,
            [ProgressMetricKeys.LossPrefix + "itm"] = 1.0 / state.Step,
            [ProgressMetricKeys.LossPrefix + "lm"] = 1.0 / state.Step,
            [ProgressMetricKeys.LearningRate] = 1e-4,
            [ProgressMetricKeys.Temperature] = 0.07,
            [ProgressMetricKeys.SamplesPerSecond] = 8 / options.Value.StepDelay.TotalSeconds,
            [ProgressMetricKeys.StepSeconds] = options.Value.StepDelay.TotalSeconds,
            [ProgressMetricKeys.DataWaitShare] = 0.1,
            [ProgressMetricKeys.TrainableShare] = 0.05,
            [ProgressMetricKeys.GenerationTokensPerSecond] = 40.0,
        };
        if (allReduceShare is { } share)
        {
            metrics[ProgressMetricKeys.AllReduceShare] = share;
        }

        return metrics;
    }

    /// <summary>Sums the step number across the gang (every rank holds the same); the all-reduce's share of the step.</summary>
    private double SumAcross(ICollectives gang, long step)
    {
        var started = Stopwatch.GetTimestamp();
        using var value = torch.tensor(new[] { step });
        gang.AllReduce([value], ReduceOperation.Sum);
        if (value.item<long>() != step * gang.WorldSize)
        {
            throw new InvalidOperationException($"the gang summed {value.item<long>()} at step {step}: its ranks are not in step");
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return seconds / (seconds + options.Value.StepDelay.TotalSeconds);
    }

    private static async Task LookUpCacheAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        const string cache = "stepping";
        if (await context.FindCacheAsync(cache, context.OptionsHash, cancellationToken) is null)
        {
            var directory = Path.Combine(context.WorkDirectory, cache);
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(Path.Combine(directory, "cache.txt"), context.OptionsHash, cancellationToken);
            await context.KeepCacheAsync(cache, context.OptionsHash, directory, new Dictionary<string, double>(), cancellationToken);
        }
    }

    private static async Task SaveCheckpointAsync(StageRunContext context, string directory, RunnerState state)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, StateFile), JsonSerializer.Serialize(state, Json), CancellationToken.None);
        await context.SaveCheckpointAsync(directory, state.Step);
    }

    /// <summary>Fetches (and so verifies) every bound input; each must hold the result file its producer wrote.</summary>
    private static async Task<IReadOnlyDictionary<string, int>> FetchInputsAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in context.Run.Inputs.Keys)
        {
            var artifacts = await context.FetchInputAsync(name, cancellationToken);
            foreach (var artifact in artifacts.Where(artifact => !File.Exists(Path.Combine(artifact.Directory, ResultFile))))
            {
                throw new InvalidOperationException($"input '{name}' ({artifact.Manifest.Reference.Uri}) has no {ResultFile}: it was not written by a test runner");
            }

            files[name] = artifacts.Sum(artifact => artifact.Manifest.Files.Count);
        }

        return files;
    }
}
