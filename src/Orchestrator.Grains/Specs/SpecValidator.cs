using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Checks a read spec as a whole against the stage-kind catalog and reports every problem at once:
/// duplicate ids, unknown kinds, dangling references, artifact types that do not fit, cycles, options
/// and resources. A spec with no errors comes back with every stage's options resolved.
/// </summary>
public static partial class SpecValidator
{
    public const int MaxStages = 500;

    private const int MaxNamesListed = 20;

    /// <summary>Validates <paramref name="spec"/> against the catalog and against what the cluster can satisfy (<paramref name="rules"/>).</summary>
    public static SpecValidationResult Validate(ExperimentSpec spec, SubmissionRules rules)
    {
        var errors = new List<SpecError>();
        if (string.IsNullOrWhiteSpace(spec.Name))
        {
            errors.Add(new SpecError("/name", "the experiment needs a non-empty 'name'"));
        }

        if (spec.Stages.Count == 0)
        {
            errors.Add(new SpecError("/stages", "the experiment has no stages; add at least one"));
        }

        if (spec.Stages.Count > MaxStages)
        {
            // Checking each stage of a spec this size costs what its stages times its errors cost (each error may list
            // the stages); the one error that matters is this one.
            errors.Add(new SpecError("/stages", $"the experiment has {spec.Stages.Count} stages, over the limit of {MaxStages}; split it"));
            return new SpecValidationResult([], errors);
        }

        var byId = IndexStages(spec, errors);
        var validated = new List<ValidatedStage>();
        var resolvedById = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        for (var index = 0; index < spec.Stages.Count; index++)
        {
            var stage = spec.Stages[index];
            var path = $"/stages/{index}";
            var kind = StageKindCatalog.Find(stage.Kind);
            if (kind is null)
            {
                if (stage.Kind.Length > 0)
                {
                    errors.Add(new SpecError($"{path}/kind", $"unknown stage kind '{stage.Kind}'; known kinds: {string.Join(", ", StageKindCatalog.All.Select(k => k.Name))} (GET /api/v1/stage-kinds describes them)"));
                }

                continue;
            }

            if (rules.RunnableKinds is { } runnable && !runnable.Contains(kind.Name))
            {
                errors.Add(new SpecError($"{path}/kind",
                    $"no worker here runs kind {kind.Name}: this host's worker runs {Names(runnable.Order(StringComparer.Ordinal))}; run the experiment on a cluster whose workers run {kind.Name}"));
            }

            var upstream = new SortedSet<string>(StringComparer.Ordinal);
            CheckInputs(stage, kind, byId, path, upstream, errors);
            CheckNeeds(stage, byId, path, upstream, errors);
            CheckResources(stage.Resources, kind, $"{path}/resources", rules, errors);
            CheckRetry(stage.Retry, $"{path}/retry", errors);
            var bound = OptionsBinder.Bind(kind, stage.Config, $"{path}/config");
            errors.AddRange(bound.Errors);
            CheckImportPaths(kind, bound.Options, $"{path}/config", rules.ImportRoots, errors);
            var resolved = OptionsBinder.ToJson(bound.Options);
            CheckOptionNeeds(stage, kind, resolved, path, errors);
            CheckInputDecides(stage, kind, path, errors);
            CheckInputTypesByOption(stage, kind, resolved, byId, path, errors);
            CheckInputsNeededByType(stage, kind, byId, path, errors);
            CheckDatasetContents(stage, kind, resolved, byId, resolvedById, path, errors);
            validated.Add(new ValidatedStage(stage, kind, resolved, [.. upstream]));
        }

        errors.AddRange(FindCycles(spec, validated));
        return new SpecValidationResult(errors.Count == 0 ? validated : [], [.. errors.OrderBy(StageIndex).ThenBy(error => error.Path, StringComparer.Ordinal)]);
    }

    private static Dictionary<string, (StageSpec Stage, int Index)> IndexStages(ExperimentSpec spec, List<SpecError> errors)
    {
        var byId = new Dictionary<string, (StageSpec, int)>(StringComparer.Ordinal);
        for (var index = 0; index < spec.Stages.Count; index++)
        {
            var id = spec.Stages[index].Id;
            if (id.Length > 0 && !StageIdPattern().IsMatch(id))
            {
                errors.Add(new SpecError($"/stages/{index}/id", $"stage id '{id}' may hold only letters, digits, '-' and '_' (at most 64), and starts with a letter"));
            }

            if (!byId.TryAdd(id, (spec.Stages[index], index)) && id.Length > 0)
            {
                errors.Add(new SpecError($"/stages/{index}/id", $"duplicate stage id '{id}' (first used by /stages/{byId[id].Item2}); give each stage its own id"));
            }
        }

        return byId;
    }

    private static void CheckInputs(
        StageSpec stage, StageKind kind, Dictionary<string, (StageSpec Stage, int Index)> byId, string path,
        SortedSet<string> upstream, List<SpecError> errors)
    {
        foreach (var (name, binding) in stage.Inputs)
        {
            var inputPath = $"{path}/inputs/{name}";
            var slot = kind.FindInput(name);
            if (slot is null)
            {
                errors.Add(new SpecError(inputPath, $"kind {kind.Name} has no input '{name}'; its inputs are: {Names(kind.Inputs.Select(i => i.Name))}"));
                continue;
            }

            if (binding.IsList && !slot.IsList)
            {
                errors.Add(new SpecError(inputPath, $"input '{name}' of kind {kind.Name} takes one artifact, not a list; give a single 'stage.output'"));
            }

            if (binding.References.Count == 0 && !slot.Optional)
            {
                errors.Add(new SpecError(inputPath, $"input '{name}' of kind {kind.Name} needs at least one 'stage.output'"));
            }

            for (var index = 0; index < binding.References.Count; index++)
            {
                var reference = binding.References[index];
                var referencePath = binding.IsList ? $"{inputPath}/{index}" : inputPath;
                CheckReference(stage, slot, reference, byId, referencePath, errors);
                upstream.Add(reference.StageId);
            }
        }

        foreach (var missing in kind.Inputs.Where(slot => !slot.Optional && !stage.Inputs.ContainsKey(slot.Name)))
        {
            errors.Add(new SpecError($"{path}/inputs", $"kind {kind.Name} needs input '{missing.Name}' ({missing.Description} Accepts: {Names(missing.Accepts.Select(a => a.Name))})"));
        }
    }

    private static void CheckOptionNeeds(StageSpec stage, StageKind kind, JsonObject resolved, string path, List<SpecError> errors)
    {
        foreach (var need in kind.OptionNeeds.Where(need => resolved[need.Option] is not null && !need.AnyOfInputs.Any(stage.Inputs.ContainsKey)))
        {
            errors.Add(new SpecError($"{path}/config/{need.Option}", $"{need.Option} is set, so kind {kind.Name} needs input {string.Join(" or ", need.AnyOfInputs.Select(input => $"'{input}'"))}: {need.Why}"));
        }
    }

    /// <summary>Options the spec sets itself (not through a preset) that a bound input decides.</summary>
    private static void CheckInputDecides(StageSpec stage, StageKind kind, string path, List<SpecError> errors)
    {
        foreach (var rule in kind.InputDecides.Where(rule => stage.Inputs.ContainsKey(rule.Input)))
        {
            foreach (var option in rule.Options.Where(stage.Config.ContainsKey))
            {
                errors.Add(new SpecError($"{path}/config/{option}",
                    $"option '{option}' sets {rule.What}, which kind {kind.Name} takes from input '{rule.Input}' when it is bound; remove '{option}', or unbind '{rule.Input}'"));
            }
        }
    }

    /// <summary>Inputs whose bound artifacts must be of the types an option's value selects (<see cref="OptionSelectsInputTypes"/>).</summary>
    private static void CheckInputTypesByOption(
        StageSpec stage, StageKind kind, JsonObject resolved, Dictionary<string, (StageSpec Stage, int Index)> byId, string path, List<SpecError> errors)
    {
        foreach (var rule in kind.InputTypesByOption)
        {
            if (resolved[rule.Option]?.ToString() is not { } value
                || !rule.Types.TryGetValue(value, out var wanted)
                || !stage.Inputs.TryGetValue(rule.Input, out var binding))
            {
                continue;
            }

            for (var index = 0; index < binding.References.Count; index++)
            {
                var reference = binding.References[index];
                if (ProducedType(reference, byId) is { } type && !wanted.Contains(type))
                {
                    var fitting = rule.Types.Where(entry => entry.Value.Contains(type)).Select(entry => entry.Key).ToList();
                    var fix = fitting.Count > 0
                        ? $"set {rule.Option} to {string.Join(" or ", fitting)}, or bind a {Names(wanted.Select(t => t.Name))}"
                        : $"bind a {Names(wanted.Select(t => t.Name))}";
                    errors.Add(new SpecError(binding.IsList ? $"{path}/inputs/{rule.Input}/{index}" : $"{path}/inputs/{rule.Input}",
                        $"'{reference}' is a {type}, but with {rule.Option} {value} input '{rule.Input}' of kind {kind.Name} takes {Names(wanted.Select(t => t.Name))}; {fix}"));
                }
            }
        }
    }

    /// <summary>Inputs a bound artifact's type needs beside it (<see cref="TypeNeedsInputs"/>), each named once.</summary>
    private static void CheckInputsNeededByType(
        StageSpec stage, StageKind kind, Dictionary<string, (StageSpec Stage, int Index)> byId, string path, List<SpecError> errors)
    {
        foreach (var rule in kind.InputsNeededByType)
        {
            if (!stage.Inputs.TryGetValue(rule.Input, out var binding))
            {
                continue;
            }

            foreach (var (reference, type) in binding.References.Select(reference => (reference, ProducedType(reference, byId))).Where(entry => entry.Item2 is { } type && rule.Types.Contains(type)))
            {
                foreach (var need in rule.Needs.Where(need => !stage.Inputs.ContainsKey(need)))
                {
                    var slot = kind.FindInput(need);
                    errors.Add(new SpecError($"{path}/inputs",
                        $"'{reference}' is a {type}, so kind {kind.Name} needs input '{need}' too ({slot?.Description} Accepts: {Names((slot?.Accepts ?? []).Select(accepted => accepted.Name))}): {rule.Why}"));
                }
            }
        }
    }

    /// <summary>The type of the output <paramref name="reference"/> names, when its stage, kind and output exist (else their own errors say why).</summary>
    private static ArtifactType? ProducedType(OutputReference reference, Dictionary<string, (StageSpec Stage, int Index)> byId) =>
        byId.TryGetValue(reference.StageId, out var producer) && StageKindCatalog.Find(producer.Stage.Kind)?.FindOutput(reference.Output) is { } output
            ? output.Type
            : null;

    private static void CheckReference(
        StageSpec stage, InputSlot slot, OutputReference reference, Dictionary<string, (StageSpec Stage, int Index)> byId,
        string path, List<SpecError> errors)
    {
        if (reference.StageId == stage.Id)
        {
            errors.Add(new SpecError(path, $"stage '{stage.Id}' cannot consume its own output '{reference}'"));
            return;
        }

        if (!byId.TryGetValue(reference.StageId, out var producer))
        {
            errors.Add(new SpecError(path, $"'{reference}' refers to stage '{reference.StageId}', which is not in the experiment; stages are: {Names(byId.Keys)}"));
            return;
        }

        if (StageKindCatalog.Find(producer.Stage.Kind) is not { } producerKind)
        {
            return;
        }

        var output = producerKind.FindOutput(reference.Output);
        if (output is null)
        {
            errors.Add(new SpecError(path, $"stage '{reference.StageId}' ({producerKind.Name}) has no output '{reference.Output}'; its outputs are: {Names(producerKind.Outputs.Select(o => o.Name))}"));
        }
        else if (output.When is { } when && OptionValue(producer.Stage, producerKind, when.Option) is { } value && !when.Values.Contains(value))
        {
            var produced = producerKind.Outputs.Where(other => other.When is null || other.When.Option != when.Option || other.When.Values.Contains(value)).Select(other => other.Name);
            errors.Add(new SpecError(path,
                $"stage '{reference.StageId}' ({producerKind.Name}) has {when.Option} {value}, so it produces no output '{reference.Output}' (only under {when}); with {when.Option} {value} it produces: {Names(produced)}"));
        }
        else if (!slot.Fits(output.Type))
        {
            errors.Add(new SpecError(path, $"'{reference}' is a {output.Type}, but input '{slot.Name}' takes {Names(slot.Accepts.Select(a => a.Name))}; connect an output of that type"));
        }
    }

    /// <summary>The producer's resolved value of <paramref name="option"/> as specs write it; null when its options do not bind (its own errors say why).</summary>
    private static string? OptionValue(StageSpec stage, StageKind kind, string option)
    {
        var bound = OptionsBinder.Bind(kind, stage.Config, "");
        return bound.Errors.Count == 0 ? OptionsBinder.ToJson(bound.Options)[option]?.ToString() : null;
    }

    private static void CheckNeeds(
        StageSpec stage, Dictionary<string, (StageSpec Stage, int Index)> byId, string path, SortedSet<string> upstream, List<SpecError> errors)
    {
        for (var index = 0; index < stage.Needs.Count; index++)
        {
            var need = stage.Needs[index];
            if (need == stage.Id)
            {
                errors.Add(new SpecError($"{path}/needs/{index}", $"stage '{stage.Id}' cannot need itself"));
            }
            else if (!byId.ContainsKey(need))
            {
                errors.Add(new SpecError($"{path}/needs/{index}", $"'needs' names stage '{need}', which is not in the experiment; stages are: {Names(byId.Keys)}"));
            }
            else
            {
                upstream.Add(need);
            }
        }
    }

    private static void CheckResources(ResourceRequest resources, StageKind kind, string path, SubmissionRules rules, List<SpecError> errors)
    {
        if (resources.Workers < 1)
        {
            errors.Add(new SpecError($"{path}/workers", $"workers is {resources.Workers}; a run needs at least 1 worker"));
        }
        else if (resources.Workers > rules.MaxGangSize)
        {
            errors.Add(new SpecError($"{path}/workers",
                $"workers is {resources.Workers}, more than the largest gang this cluster runs ({rules.MaxGangSize}, Scheduler:MaxGangSize); ask for at most {rules.MaxGangSize} workers"));
        }
        else if (resources.Workers > 1 && !kind.TrainsAsGang)
        {
            errors.Add(new SpecError($"{path}/workers",
                $"workers is {resources.Workers}, but kind {kind.Name} runs on one worker; gangs of workers train " +
                $"{Names(StageKindCatalog.All.Where(gang => gang.TrainsAsGang).Select(gang => gang.Name))}; ask for workers: 1"));
        }

        if (resources.Slots < 1)
        {
            errors.Add(new SpecError($"{path}/slots", $"slots is {resources.Slots}; a run needs at least 1 slot on each worker"));
        }

        if (resources.MemoryGib < 0 || !double.IsFinite(resources.MemoryGib))
        {
            errors.Add(new SpecError($"{path}/memory_gib", $"memory_gib is {resources.MemoryGib}; give 0 (no requirement) or more"));
        }
    }

    private static void CheckRetry(RetryPolicy retry, string path, List<SpecError> errors)
    {
        if (retry.MaxAttempts < 1)
        {
            errors.Add(new SpecError($"{path}/max_attempts", $"max_attempts is {retry.MaxAttempts}; give 1 (no retries) or more"));
        }

        if (retry.InitialBackoff <= TimeSpan.Zero)
        {
            errors.Add(new SpecError($"{path}/initial_backoff", $"initial_backoff is {Durations.Format(retry.InitialBackoff)}; give a positive duration such as 10s"));
        }

        if (retry.Multiplier < 1 || !double.IsFinite(retry.Multiplier))
        {
            errors.Add(new SpecError($"{path}/multiplier", $"multiplier is {retry.Multiplier}; give 1 (constant backoff) or more"));
        }

        if (retry.MaxBackoff < retry.InitialBackoff)
        {
            errors.Add(new SpecError($"{path}/max_backoff", $"max_backoff {Durations.Format(retry.MaxBackoff)} is below initial_backoff {Durations.Format(retry.InitialBackoff)}; raise it"));
        }
    }

    /// <summary>Finds every cycle's stages with Tarjan's strongly connected components, so each is named once.</summary>
    private static IEnumerable<SpecError> FindCycles(ExperimentSpec spec, List<ValidatedStage> stages)
    {
        // Stages with an unknown kind or a duplicate id have no edges here; their own errors are reported already.
        var upstream = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var stage in stages)
        {
            upstream.TryAdd(stage.Spec.Id, stage.Upstream);
        }

        var index = 0;
        var indices = new Dictionary<string, int>();
        var lowLinks = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<List<string>>();

        void Visit(string id)
        {
            indices[id] = lowLinks[id] = index++;
            stack.Push(id);
            onStack.Add(id);
            foreach (var next in upstream.GetValueOrDefault(id) ?? [])
            {
                if (!indices.ContainsKey(next))
                {
                    Visit(next);
                    lowLinks[id] = Math.Min(lowLinks[id], lowLinks[next]);
                }
                else if (onStack.Contains(next))
                {
                    lowLinks[id] = Math.Min(lowLinks[id], indices[next]);
                }
            }

            if (lowLinks[id] == indices[id])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != id);

                if (component.Count > 1)
                {
                    components.Add(component);
                }
            }
        }

        foreach (var stage in spec.Stages.Select(stage => stage.Id).Where(id => !indices.ContainsKey(id)))
        {
            Visit(stage);
        }

        var order = new Dictionary<string, int>();
        for (var position = 0; position < spec.Stages.Count; position++)
        {
            order.TryAdd(spec.Stages[position].Id, position);
        }

        foreach (var component in components)
        {
            var names = component.OrderBy(id => order[id]).ToList();
            yield return new SpecError($"/stages/{order[names[0]]}",
                $"the stages {string.Join(" -> ", names)} depend on each other in a cycle; remove one of their references");
        }
    }

    /// <summary>Orders errors by the stage they are about (spec-level errors first), as the user wrote the stages.</summary>
    private static int StageIndex(SpecError error)
    {
        var parts = error.Path.Split('/');
        return parts.Length > 2 && parts[1] == "stages" && int.TryParse(parts[2], out var index) ? index : -1;
    }

    /// <summary>Names for a message: at most <see cref="MaxNamesListed"/>, so that many errors about a big spec stay small.</summary>
    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count switch
        {
            0 => "(none)",
            <= MaxNamesListed => string.Join(", ", list),
            _ => $"{string.Join(", ", list.Take(MaxNamesListed))} and {list.Count - MaxNamesListed} more",
        };
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex StageIdPattern();
}

/// <summary>A stage that passed validation: its kind, its options with every default resolved, and the stages it waits for.</summary>
public sealed record ValidatedStage(StageSpec Spec, StageKind Kind, JsonObject ResolvedOptions, IReadOnlyList<string> Upstream);

/// <summary>The stages of a valid spec in the order written, or the errors of an invalid one.</summary>
public sealed record SpecValidationResult(IReadOnlyList<ValidatedStage> Stages, IReadOnlyList<SpecError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
