using Trainer.Worker;

return await WorkerHost.RunAsync(() => WorkerHost.Build(args));
