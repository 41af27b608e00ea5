using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>What keeps a frozen LLM frozen: no parameter requires a gradient, so none reaches an optimiser.</summary>
public static class LlmFreezing
{
    public static void Freeze(nn.Module model)
    {
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.requires_grad = false;
        }

        model.eval();
    }

    /// <summary>Parameters of <paramref name="model"/>, each once (a tied head counted with its embedding).</summary>
    public static long ParameterCount(nn.Module model)
    {
        var seen = new HashSet<IntPtr>();
        return model.named_parameters().Where(entry => seen.Add(entry.parameter.Handle)).Sum(entry => entry.parameter.numel());
    }
}
