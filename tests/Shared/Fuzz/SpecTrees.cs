using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Testing.Fuzz;

/// <summary>
/// FsCheck generators of whole specs shaped like real ones (a name, stages with the catalog's kinds, inputs, options,
/// resources and retry) in which any field may hold a value of the wrong type, out of range, or be unknown: type
/// confusion, overflowing numbers and unknown keys where the reader and validator look for them. Drawn one case at a
/// time with <see cref="Gen.Sample{T}(Gen{T}, int, Rnd, int)"/> from the case's own seed, so a case replays alone.
/// </summary>
internal static class SpecTrees
{
    private static readonly string[] Kinds = [.. StageKindCatalog.All.Select(kind => kind.Name), "blip.pretrian", "", "dataset.synthetic "];

    private static readonly string[] OptionNames =
        [.. StageKindCatalog.All.SelectMany(kind => OptionsBinder.OptionProperties(kind.OptionsType).Select(OptionsBinder.OptionName)).Distinct()];

    private static readonly string[] InputNames =
        [.. StageKindCatalog.All.SelectMany(kind => kind.Inputs.Select(input => input.Name)).Distinct(), "nope"];

    private static readonly string[] Outputs = ["web", "human", "test", "checkpoint", "dataset", "scores", "model", "nope"];

    /// <summary>A spec as JSON text (ready to write as YAML or JSON) and a description.</summary>
    public static FuzzInput Draw(Random random)
    {
        var size = random.Next(1, 30);
        var json = Gen.Sample(Experiment(), size, new Rnd((ulong)random.NextInt64()), 1)[0];
        var tree = JsonNode.Parse(json);
        var format = random.Next(2) == 0 ? SpecFormat.Json : SpecFormat.Yaml;
        return new($"generated spec (size {size}) as {format}", format, format == SpecFormat.Json ? json : SpecRendering.Yaml(tree));
    }

    private static Gen<string> Experiment() =>
        from name in Gen.Frequency((6, Text()), (1, Any()))
        from stageCount in Gen.Sized(size => Gen.Choose(0, Math.Max(1, size)))
        from ids in Gen.ListOf(Id(stageCount), stageCount)
        from stages in Gen.CollectToList(ids, id => Stage(id, ids))
        from stageList in Gen.Frequency((9, Gen.Constant(Array(stages))), (1, Any()))
        from labels in Optional(Map(Text(), Gen.Frequency((4, Text()), (1, Any()))))
        from extra in Optional(Any())
        select Object(
            ("name", name),
            ("stages", stageList),
            ("labels", labels),
            ("unknown_field", extra));

    private static Gen<string> Stage(string id, IReadOnlyList<string> ids) =>
        from kind in Gen.Frequency((8, Gen.Elements(Kinds).Select(Quote)), (1, Any()))
        from inputs in Optional(Map(Gen.Elements(InputNames), Gen.Frequency((5, Reference(ids)), (2, ListOf(Reference(ids))), (1, Any()))))
        from needs in Optional(Gen.Frequency((4, ListOf(Gen.Elements([.. ids, "\"ghost\""]))), (1, Any())))
        from config in Optional(Map(Gen.Frequency((8, Gen.Elements(OptionNames)), (1, Text().Select(text => text.Trim('"')))), Any()))
        from resources in Optional(Map(Gen.Elements("workers", "slots", "device", "memory_gib", "labels", "gpus"), Any()))
        from retry in Optional(Map(Gen.Elements("max_attempts", "initial_backoff", "multiplier", "max_backoff", "jitter"), Any()))
        from priority in Optional(Any())
        select Object(
            ("id", id), ("kind", kind), ("inputs", inputs), ("needs", needs), ("config", config), ("resources", resources), ("retry", retry), ("priority", priority));

    private static Gen<string> Id(int stages) => Gen.Frequency(
        (8, Gen.Choose(0, Math.Max(1, stages)).Select(index => Quote($"s{index}"))),
        (1, Text()),
        (1, Any()));

    private static Gen<string> Reference(IReadOnlyList<string> ids) =>
        from id in Gen.Elements([.. ids, "\"ghost\""])
        from output in Gen.Elements(Outputs)
        select Quote($"{id.Trim('"')}.{output}");

    /// <summary>Any value: mostly scalars at the edges of their types, sometimes a small list or mapping.</summary>
    private static Gen<string> Any() => Gen.Frequency(
        (4, Number()),
        (4, Text()),
        (1, Gen.Elements("true", "false", "null")),
        (1, Gen.Elements("[]", "{}", "[1, [2, [3]]]", "{\"a\": {\"b\": [null]}}", "[\"data.web\", 3]")));

    private static Gen<string> Number() => Gen.Frequency(
        (3, Gen.Choose(-3, 12).Select(value => value.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Elements(
            "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808", "1e400", "-1e400", "1e-400",
            "1e308", "1.7976931348623157e308", "4.9e-324", "-0", "0.5", "1e3", "99999999999999999999999999999", "3.0", "1E+2")),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Select(value => (value / 1000.0).ToString("R", CultureInfo.InvariantCulture))));

    private static Gen<string> Text() => Gen.Frequency(
        (4, Gen.Elements("d", "data", "tiny", "base", "cpu", "cuda", "any", "10s", "500ms", "1h", "2d", "1e300s", "-1s", "0s", "soon", "data.web", "a.b")),
        (2, Gen.Elements("", " ", "\u00e9t\u00e9", "\u65e5\u672c", "\ud83d\ude80", "\u202e", "has space", "a/b", "..", "-", "_x", "0a", "x\ny", "\u0000", "\\", "\"q\"")),
        (1, Gen.Choose(1, 300).Select(length => new string('k', length))))
        .Select(Quote);

    private static Gen<string> ListOf(Gen<string> item) => Gen.Choose(0, 4).SelectMany(count => Gen.ListOf(item, count)).Select(Array);

    private static Gen<string> Map(Gen<string> key, Gen<string> value) =>
        from count in Gen.Choose(0, 5)
        from keys in Gen.ListOf(key, count)
        from values in Gen.ListOf(value, count)
        select Object([.. keys.Select(k => k.Trim('"')).Distinct().Zip(values, (k, v) => (k, (string?)v))]);

    /// <summary>A field that is absent (null) three times in four.</summary>
    private static Gen<string?> Optional(Gen<string> value) => Gen.Frequency((3, Gen.Constant<string?>(null)), (1, value.Select(text => (string?)text)));

    private static string Object(params (string Key, string? Value)[] fields) =>
        "{" + string.Join(",", fields.Where(field => field.Value is not null).Select(field => $"{Quote(field.Key)}:{field.Value}")) + "}";

    private static string Array(IEnumerable<string> items) => "[" + string.Join(",", items) + "]";

    private static string Quote(string text) => text.StartsWith('"') ? text : JsonSerializer.Serialize(text);
}
