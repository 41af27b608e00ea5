using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Trainer.Worker.Runners;

/// <summary>Wiring for BLIP stage runners.</summary>
public static class BlipRunnerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <c>blip.pretrain</c>, <c>blip.finetune.retrieval</c> and <c>blip.capfilt</c> runners. They need an <see cref="VisionLanguage.Tasks.Pretraining.IBlipBatchSourceFactory"/> (the data side's), which
    /// this does not register.
    /// </summary>
    public static IServiceCollection AddBlipPretraining(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipPretrainRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipRetrievalFinetuneRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipCapfiltRunner>());
        return services;
    }

    /// <summary>
    /// Adds the <c>blip2.stage1</c>, <c>llm.pretrain</c>, <c>blip2.stage2</c> and BLIP-2 finetune runners; stage 1, like pretraining, needs
    /// the data side's <see cref="VisionLanguage.Tasks.Pretraining.IBlipBatchSourceFactory"/>.
    /// </summary>
    public static IServiceCollection AddBlip2(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, Blip2Stage1Runner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, LlmPretrainRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, Blip2Stage2Runner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, Blip2CaptionFinetuneRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, Blip2RetrievalFinetuneRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, Blip2VqaFinetuneRunner>());
        return services;
    }

    /// <summary>Adds the <c>blip.finetune.caption</c> runner and <c>evaluate</c>, which scores its checkpoints and the retrieval models'.</summary>
    public static IServiceCollection AddBlipCaptioning(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipCaptionRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, EvaluateRunner>());
        return services;
    }

    /// <summary>Adds the <c>blip.finetune.vqa</c> and <c>blip.finetune.nlvr2</c> runners.</summary>
    public static IServiceCollection AddBlipDownstream(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipVqaRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, BlipNlvr2Runner>());
        return services;
    }
}
