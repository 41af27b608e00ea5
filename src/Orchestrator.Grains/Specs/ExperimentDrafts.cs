using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Contracts.Specs;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Specs;

/// <summary>Turns submitted text into an <see cref="ExperimentDraft"/>: read, validate, resolve options, or every error at once.</summary>
public static class ExperimentDrafts
{
    private static readonly JsonSerializerOptions SpecJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Reads and prepares <paramref name="text"/> within the default <see cref="SpecLimits"/> and <see cref="SubmissionRules"/> (no import roots).</summary>
    public static DraftResult Prepare(string text, SpecFormat format, string experimentId) =>
        Prepare(SpecReader.Read(text, format, SpecLimits.Default), experimentId, new SubmissionRules());

    /// <summary>Reads <paramref name="text"/> within <paramref name="limits"/> and prepares it under the default <see cref="SubmissionRules"/>.</summary>
    public static DraftResult Prepare(string text, SpecFormat format, string experimentId, SpecLimits limits) =>
        Prepare(SpecReader.Read(text, format, limits), experimentId, new SubmissionRules());

    /// <summary>Prepares a spec already read (within its limits), checking it against what the cluster can satisfy.</summary>
    public static DraftResult Prepare(SpecReadResult read, string experimentId, SubmissionRules rules)
    {
        if (read.Spec is null || read.Errors.Count > 0)
        {
            return new DraftResult(null, read.Errors) { ExceededLimit = read.ExceededLimit };
        }

        var validated = SpecValidator.Validate(read.Spec, rules);
        if (!validated.IsValid)
        {
            return new DraftResult(null, validated.Errors);
        }

        var specJson = JsonSerializer.Serialize(read.Spec, SpecJson);
        return new DraftResult(new ExperimentDraft
        {
            Name = read.Spec.Name,
            Labels = new Dictionary<string, string>(read.Spec.Labels),
            SpecJson = specJson,
            SpecHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(specJson))),
            Stages = [.. validated.Stages.Select(stage => Definition(experimentId, stage))],
        }, []);
    }

    private static StageDefinition Definition(string experimentId, ValidatedStage stage) => new()
    {
        ExperimentId = experimentId,
        StageId = stage.Spec.Id,
        Kind = stage.Kind.Name,
        OptionsJson = stage.ResolvedOptions.ToJsonString(),
        Inputs = [.. stage.Spec.Inputs.Select(input => new StageInput
        {
            Name = input.Key,
            IsList = input.Value.IsList,
            References = [.. input.Value.References.Select(reference => reference.ToString())],
        })],
        Upstream = [.. stage.Upstream],
        Resources = new ResourceNeeds
        {
            Workers = stage.Spec.Resources.Workers,
            Slots = stage.Spec.Resources.Slots,
            Device = stage.Spec.Resources.Device.ToString().ToLowerInvariant(),
            MemoryGib = stage.Spec.Resources.MemoryGib,
            Labels = new Dictionary<string, string>(stage.Spec.Resources.Labels),
            ImportPaths = [.. SpecValidator.ImportPaths(stage)],
        },
        Retry = new RetrySettings
        {
            MaxAttempts = stage.Spec.Retry.MaxAttempts,
            InitialBackoff = stage.Spec.Retry.InitialBackoff,
            Multiplier = stage.Spec.Retry.Multiplier,
            MaxBackoff = stage.Spec.Retry.MaxBackoff,
        },
        Priority = stage.Spec.Priority,
    };
}

/// <summary>A draft ready to create, or the errors that stop it.</summary>
public sealed record DraftResult(ExperimentDraft? Draft, IReadOnlyList<SpecError> Errors)
{
    /// <summary>The <see cref="SpecLimits"/> setting that stopped reading the spec, e.g. <c>SpecLimits:MaxNodes</c>; null if none did.</summary>
    public string? ExceededLimit { get; init; }
}
