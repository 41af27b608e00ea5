using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trainer.Worker;
using Trainer.Worker.Artifacts;
using Trainer.Worker.Bench;
using Trainer.Worker.Observability;
using Trainer.Worker.Telemetry;
using Trainer.Worker.Transport;

// `bench caption --preset …`: caption throughput with and without the key/value cache.
// `bench --preset tiny|base|large`: time pretraining steps and exit; any other arguments run the worker host.
if (args is ["bench", "caption", ..])
{
    return await CaptionBench.RunAsync(args[2..]);
}

if (args is ["bench", ..])
{
    return await PretrainBench.RunAsync(args[1..]);
}

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.HealthUrl)}"] ?? new WorkerOptions().HealthUrl);

// A health probe every few seconds would otherwise write five lines each time.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddConsoleLogFormat(builder.Configuration);
builder.Services.AddRunTracing(builder.Configuration, "trainer-worker");

builder.Services.AddTrainingTransport(builder.Configuration, bus => bus.AddWorkerConsumers());
builder.Services.AddTrainerWorker(builder.Configuration);
builder.Services.AddArtifactStore(builder.Configuration);
builder.AddWorkerMetrics();

var app = builder.Build();
app.MapGet("/healthz", (IOptions<WorkerOptions> options) => Results.Ok(new { status = "ok", worker = options.Value.WorkerId }));
app.MapWorkerMetrics();
app.Run();
return 0;
