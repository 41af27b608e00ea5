using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Agent;

/// <summary>Swaps the worker's built-in stage runners for <see cref="CheckpointingRunner"/>, which runs <c>dataset.synthetic</c> by script.</summary>
internal static class ScriptedRunnerRegistration
{
    /// <summary>Call after <c>AddTrainerWorker</c>: removes every registered runner, then adds the scripted one unless <paramref name="withRunner"/> is false.</summary>
    public static IServiceCollection UseScriptedRunner(this IServiceCollection services, bool withRunner = true)
    {
        services.RemoveAll<IStageRunner>();
        if (withRunner)
        {
            services.AddSingleton<IStageRunner, CheckpointingRunner>();
        }

        return services;
    }
}
