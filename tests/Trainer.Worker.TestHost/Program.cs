using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trainer.Worker;
using Trainer.Worker.Artifacts;
using Trainer.Worker.Observability;
using Trainer.Worker.Runners;
using Trainer.Worker.Telemetry;
using Trainer.Worker.TestHost;
using Trainer.Worker.Transport;

// The same wiring as src/Trainer.Worker/Program.cs, plus the test-only stage runners.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.HealthUrl)}"] ?? new WorkerOptions().HealthUrl);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddConsoleLogFormat(builder.Configuration);
builder.Services.AddRunTracing(builder.Configuration, "trainer-worker");

builder.Services.AddTrainingTransport(builder.Configuration, bus => bus.AddWorkerConsumers());
builder.Services.AddTrainerWorker(builder.Configuration);
builder.Services.AddArtifactStore(builder.Configuration);
builder.AddWorkerMetrics();

builder.Services.AddOptions<SteppingRunnerOptions>().BindConfiguration(SteppingRunnerOptions.Section);
// The worker's real runners make way for the test-only ones of the same kinds.
builder.Services.RemoveAll<IStageRunner>();
builder.Services.AddSingleton<IStageRunner, SteppingDatasetRunner>();
builder.Services.AddSingleton<IStageRunner, SteppingPretrainRunner>();

var app = builder.Build();
app.MapGet("/healthz", (IOptions<WorkerOptions> options) => Results.Ok(new { status = "ok", worker = options.Value.WorkerId }));
app.MapWorkerMetrics();
app.Run();
