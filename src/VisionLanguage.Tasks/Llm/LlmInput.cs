using TorchSharp;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Llm;

/// <summary>
/// A language model as <c>model.import</c> and <c>llm.pretrain</c> both commit it: <c>imported_model.json</c> (the
/// architecture and its config), <c>model.safetensors</c> in HF's names, <c>config.json</c> and the tokenizer files.
/// Stage 2 cannot tell one from the other.
/// </summary>
public static class LlmInput
{
    /// <summary>The LLM of <paramref name="input"/> with its tokenizer, in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    /// <param name="input">The artifact folder.</param>
    /// <param name="dtype">float32, or bfloat16 as LAVIS holds Flan-T5.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="exactGelu">
    /// Run a gated-GELU T5 with exact GELU whatever its config says, as LAVIS's <c>blip2_t5</c> sets
    /// <c>dense_act_fn = "gelu"</c> over Flan-T5's <c>gelu_new</c>.
    /// </param>
    public static (ISoftPromptedLlm Llm, LlmTokenizer Tokenizer) Load(InputFolder input, ScalarType dtype, Device device, bool exactGelu)
    {
        var source = $"input llm ({input.Name})";
        var (description, tokenizer) = Tokenizer(input);
        using var generator = new Generator(0);
        ISoftPromptedLlm llm = (description.Architecture, description.Opt, description.T5) switch
        {
            ("opt", { } opt, _) => new OptSoftPrompted(Loaded(new OptForCausalLM(opt, generator), input, dtype, device)),
            ("t5", _, { } t5) => new T5SoftPrompted(Loaded(
                new T5ForConditionalGeneration(exactGelu && t5.GatedFeedForward ? t5 with { Activation = T5Activation.Gelu } : t5, generator), input, dtype, device)),
            _ => throw new InvalidDataException($"{source} is an imported {description.Architecture} model, not an LLM; bind an opt or t5 import or an llm.pretrain output"),
        };
        var rows = description.Opt?.VocabSize ?? description.T5!.VocabSize;
        if (tokenizer.VocabularySize > rows)
        {
            llm.Dispose();
            throw new InvalidDataException(
                $"{source}: its tokenizer emits ids up to {tokenizer.VocabularySize - 1}, beyond the {rows} rows of its embedding; import the tokenizer that belongs to the weights");
        }

        return (llm, tokenizer);
    }

    /// <summary>The description and the tokenizer of <paramref name="input"/>, without its weights.</summary>
    public static (ImportedModelDescription Description, LlmTokenizer Tokenizer) Tokenizer(InputFolder input)
    {
        var description = ImportedModelDescription.TryRead(input.Directory)
            ?? throw new InvalidDataException($"input llm ({input.Name}) has no {CheckpointImport.DescriptionFile}; bind a model.import of an opt or t5 checkpoint, or an llm.pretrain output");
        return (description, LlmTokenizer.Load(input.Directory, description.Architecture));
    }

    private static TModule Loaded<TModule>(TModule model, InputFolder input, ScalarType dtype, Device device)
        where TModule : nn.Module
    {
        BlipWeights.Load(model, 0, Path.Combine(input.Directory, CheckpointImport.WeightsFile), WeightsLoading.Strict);
        model.to(dtype);
        model.to(device);
        return model;
    }
}
