using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Specs;
using YamlDotNet.Core;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// The first step of <see cref="SpecReader"/>: a spec's text, JSON or YAML, into one JSON tree, within
/// <see cref="SpecLimits"/>. Every way the text can fail becomes one <see cref="SpecError"/>; nothing is thrown.
/// </summary>
internal static class SpecText
{
    public static ParsedText Parse(string text, SpecFormat format, SpecLimits limits)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > limits.MaxBytes)
        {
            return ParsedText.Failed(
                new SpecError("", $"the spec is {bytes} bytes, over the limit of {limits.MaxBytes} ({SpecLimits.Setting(nameof(SpecLimits.MaxBytes))}); split the experiment or raise the limit"),
                SpecLimits.Setting(nameof(SpecLimits.MaxBytes)), null);
        }

        var budget = new ParseBudget(limits);
        try
        {
            var root = format == SpecFormat.Json ? JsonToNode.Parse(text, budget) : YamlToJson.Convert(text, budget);
            return new ParsedText(root, null, null, budget.Nodes, budget.Depth);
        }
        catch (SpecLimitException exception)
        {
            return ParsedText.Failed(new SpecError(exception.Path, exception.Message), exception.Setting, budget);
        }
        catch (Exception exception) when (format == SpecFormat.Json && exception is JsonException or SpecFormatException)
        {
            return ParsedText.Failed(
                new SpecError("", $"the body is not valid JSON ({exception.Message}); send a JSON object, or YAML with Content-Type application/yaml"), null, budget);
        }
        catch (Exception exception) when (format == SpecFormat.Yaml && exception is YamlException or SpecFormatException)
        {
            return ParsedText.Failed(new SpecError("", $"the body is not valid YAML ({Where(exception)}{exception.Message}); fix the syntax at the place named"), null, budget);
        }
    }

    /// <summary>YamlDotNet keeps the place of a syntax error out of its message; users need it.</summary>
    private static string Where(Exception exception) =>
        exception is YamlException { Start.Line: > 0 } yaml ? $"line {yaml.Start.Line}, column {yaml.Start.Column}: " : "";
}

/// <summary>
/// A spec's text as a tree, or the one error that stopped reading it; <paramref name="ExceededLimit"/> names the
/// <see cref="SpecLimits"/> setting that stopped it, if one did. <paramref name="Nodes"/> and <paramref name="Depth"/>
/// are what was built before the end or the stop.
/// </summary>
internal sealed record ParsedText(JsonNode? Root, SpecError? Error, string? ExceededLimit, int Nodes, int Depth)
{
    public static ParsedText Failed(SpecError error, string? exceededLimit, ParseBudget? budget) =>
        new(null, error, exceededLimit, budget?.Nodes ?? 0, budget?.Depth ?? 0);
}
