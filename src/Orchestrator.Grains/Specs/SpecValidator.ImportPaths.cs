using System.Collections.Concurrent;
using System.Reflection;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Grains.Specs;

/// <summary>The import paths of a spec's stages: options that read files on a worker, checked against the workers' import roots.</summary>
public static partial class SpecValidator
{
    /// <summary>Whether some stage of <paramref name="spec"/> reads files from a worker's file system, so its paths need the workers' import roots.</summary>
    public static bool ReadsImportPaths(ExperimentSpec spec) =>
        spec.Stages.Any(stage => StageKindCatalog.Find(stage.Kind) is { } kind && ImportPathProperties(kind).Count > 0);

    /// <summary>The import paths a validated stage reads (its <see cref="ImportPathAttribute"/> options that are set).</summary>
    public static IEnumerable<string> ImportPaths(ValidatedStage stage) =>
        ImportPathProperties(stage.Kind)
            .Select(property => stage.ResolvedOptions[OptionsBinder.OptionName(property)]?.GetValue<string>())
            .OfType<string>()
            .Where(path => path.Length > 0);

    private static IReadOnlyList<PropertyInfo> ImportPathProperties(StageKind kind) =>
        ImportPathPropertiesByType.GetOrAdd(kind.OptionsType, type =>
            [.. OptionsBinder.OptionProperties(type).Where(property => property.IsDefined(typeof(ImportPathAttribute)))]);

    private static readonly ConcurrentDictionary<Type, IReadOnlyList<PropertyInfo>> ImportPathPropertiesByType = new();

    private static void CheckImportPaths(StageKind kind, object options, string path, IReadOnlyList<string> roots, List<SpecError> errors)
    {
        foreach (var property in ImportPathProperties(kind))
        {
            var name = OptionsBinder.OptionName(property);
            if (property.GetValue(options) is not string { Length: > 0 } value)
            {
                continue;
            }

            if (!System.IO.Path.IsPathFullyQualified(value))
            {
                errors.Add(new SpecError($"{path}/{name}",
                    $"{name} '{value}' is not an absolute path; give the absolute path of the file under one of the workers' import roots: {ImportRoots.Describe(roots)}"));
            }
            else if (ImportRoots.Containing(value, roots) is null)
            {
                errors.Add(new SpecError($"{path}/{name}",
                    $"{name} '{value}' is outside every import root of the workers ({ImportRoots.Describe(roots)}); put the files under one of them, or start the workers with --Worker:ImportRoots:0=<folder>"));
            }
        }
    }
}
