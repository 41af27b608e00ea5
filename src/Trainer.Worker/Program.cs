using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trainer.Worker;
using Trainer.Worker.Artifacts;
using Trainer.Worker.Transport;

// args[0] == "bench" is reserved for the benchmark subcommand, which is added here later.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.HealthUrl)}"] ?? new WorkerOptions().HealthUrl);

// A health probe every few seconds would otherwise write five lines each time.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

builder.Services.AddTrainingTransport(builder.Configuration, bus => bus.AddWorkerConsumers());
builder.Services.AddTrainerWorker(builder.Configuration);
builder.Services.AddArtifactStore(builder.Configuration);

var app = builder.Build();
app.MapGet("/healthz", (IOptions<WorkerOptions> options) => Results.Ok(new { status = "ok", worker = options.Value.WorkerId }));
app.Run();
