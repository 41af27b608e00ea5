using System.Text.Json;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Silo.Tests.Hosting;

/// <summary>
/// An experiment's and a stage's state as the orchestrator of 2026-12 wrote them, every field set. Their Orleans-serialized
/// bytes are committed under <c>Fixtures/</c> (written once with <c>ORCH_WRITE_STATE_FIXTURES=1</c>), and must keep
/// reading back as these values: never edit the values or the files to make a later change pass.
/// </summary>
internal static class StateFixtures
{
    public const string ExperimentFile = "experiment-state.bin";
    public const string StageFile = "stage-state.bin";

    private static readonly DateTimeOffset At = new(2026, 12, 7, 6, 0, 0, TimeSpan.Zero);

    public static string Path(string file) => BuiltHosts.RepositoryFile("tests", "Orchestrator.Silo.Tests", "Hosting", "Fixtures", file);

    /// <summary>Every public property, nested ones too, as JSON: what two states are compared by.</summary>
    public static string Describe<T>(T state) => JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true });

    public static ExperimentState Experiment() => new()
    {
        Name = "blip-capfilt",
        Labels = new() { ["team"] = "vision", ["run"] = "nightly" },
        SpecJson = """{"name":"blip-capfilt","stages":[{"id":"data","kind":"dataset.synthetic"},{"id":"pretrain","kind":"blip.pretrain","inputs":{"train":"data.web"}}]}""",
        SpecHash = "sha256:4f2a0c1e",
        Status = ExperimentStatus.Running,
        CreatedAt = At,
        EndedAt = null,
        Stages = [Definition("data", "dataset.synthetic", [], []), Definition("pretrain", "blip.pretrain", [Input("train", "data.web")], ["data"])],
        StageRecords = new()
        {
            ["data"] = new StageRecord { Status = StageStatus.Succeeded, Version = 4, Outputs = new() { ["web"] = Artifact("dataset", "data/web", step: null) }, ChangedAt = At.AddMinutes(2) },
            ["pretrain"] = new StageRecord { Status = StageStatus.Running, Version = 3, ChangedAt = At.AddMinutes(3) },
        },
        Cancelled = false,
        SubmittedBy = "ci",
    };

    public static StageState Stage() => new()
    {
        Definition = Definition("pretrain", "blip.pretrain", [Input("train", "data.web")], ["data"]),
        Status = StageStatus.Running,
        Attempts =
        [
            new StageAttempt
            {
                Attempt = 1, RunId = "run-1", QueuedAt = At.AddMinutes(2), AssignedAt = At.AddMinutes(2.1), StartedAt = At.AddMinutes(2.2),
                EndedAt = At.AddMinutes(9), WorkerIds = ["gpu-01"], Outcome = StageStatus.Failed, Error = "worker gpu-01 lost", Retryable = true,
                LastCheckpoint = Artifact("checkpoint.blip", "pretrain/ckpt-100", step: 100), Metrics = new() { ["loss"] = 2.5 },
            },
            new StageAttempt
            {
                Attempt = 2, RunId = "run-2", QueuedAt = At.AddMinutes(10), AssignedAt = At.AddMinutes(10.5), StartedAt = At.AddMinutes(11),
                WorkerIds = ["gpu-02", "gpu-03"], ResumedFrom = Artifact("checkpoint.blip", "pretrain/ckpt-100", step: 100),
            },
        ],
        CurrentRunId = "run-2",
        LastCheckpoint = Artifact("checkpoint.blip", "pretrain/ckpt-100", step: 100),
        Outputs = [],
        Inputs = new() { ["train"] = [Artifact("dataset", "data/web", step: null)] },
        Progress = new StageProgress { Step = 150, TotalSteps = 1000, Epoch = 1, SamplesPerSecond = 42.5, UpdatedAt = At.AddMinutes(12), FirstStep = 100, FirstStepAt = At.AddMinutes(11) },
        Metrics = new() { ["loss"] = 2.25, ["lr"] = 0.0001 },
        RetryAt = null,
        AttemptsInBudget = 2,
        StaleReports = 3,
        DuplicateReports = 1,
        Version = 7,
        ChangedAt = At.AddMinutes(11),
        SubmissionTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    private static StageDefinition Definition(string stageId, string kind, List<StageInput> inputs, List<string> upstream) => new()
    {
        ExperimentId = "exp-fixture",
        StageId = stageId,
        Kind = kind,
        OptionsJson = """{"preset":"tiny","epochs":3}""",
        Inputs = inputs,
        Upstream = upstream,
        Resources = new ResourceNeeds { Workers = 2, Slots = 1, Device = "cuda", MemoryGib = 16, Labels = new() { ["pool"] = "a100" }, ImportPaths = ["/data/coco"] },
        Retry = new RetrySettings { MaxAttempts = 5, InitialBackoff = TimeSpan.FromSeconds(30), Multiplier = 3, MaxBackoff = TimeSpan.FromMinutes(20) },
        Priority = 7,
    };

    private static StageInput Input(string name, string reference) => new() { Name = name, IsList = false, References = [reference] };

    private static ArtifactRef Artifact(string type, string path, long? step) => new()
    {
        Uri = $"https://blipstate.blob.core.windows.net/artifacts/{path}/manifest.json",
        Type = type,
        Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        RunId = "run-1",
        Step = step,
        ContentDigest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    };
}
