using System.Text.RegularExpressions;

namespace Orchestrator.Architecture.Tests;

/// <summary>
/// "Never an implicit CPU" (issue 25, docs/decisions/device-placement.md), held over the source of the projects whose
/// tensors may live on a GPU. This machine has no GPU, so a tensor created on the CPU by default and then mixed with a
/// CUDA tensor fails nowhere here; what can be checked is that every tensor factory names its device, and that every read
/// of a tensor's memory from .NET (<c>data&lt;T&gt;()</c>, <c>bytes</c>), which TorchSharp refuses for device memory,
/// goes through <c>.cpu()</c> in the same statement or is listed below with the reason it is on the CPU.
/// </summary>
public sealed partial class DevicePlacementTests
{
    private static readonly string[] Projects = ["VisionLanguage.Data", "VisionLanguage.Models", "VisionLanguage.Tasks", "VisionLanguage.Evaluation", "VisionLanguage.Training"];

    /// <summary>Reads of tensor memory without <c>.cpu()</c> in their statement, each on a tensor that is on the CPU by construction.</summary>
    private static readonly (string File, string Statement, string Because)[] CpuReads =
    [
        ("src/VisionLanguage.Data/Synthetic/SyntheticPretrainBatches.cs", "classes = drawn.data<long>().ToArray()", "synthetic batches are drawn on the CPU"),
        ("src/VisionLanguage.Models/Weights/Safetensors.cs", "file.Write(cpu.bytes)", "the statement before copies the tensor to the CPU"),
        ("src/VisionLanguage.Models/Weights/Safetensors.cs", "tensor.bytes = buffer", "a tensor the loader just made with device: CPU"),
        ("src/VisionLanguage.Training/Trainer.Checkpoints.cs", "return state.bytes.ToArray()", "a generator's state is CPU bytes on every device"),
        ("src/VisionLanguage.Training/Trainer.Checkpoints.cs",
            "var states = Enumerable.Range(0, reducer.WorldSize).Select(r => generatorStates[r].contiguous().bytes.ToArray()).ToList()",
            "the gathered states are copied to the CPU when gathered"),
    ];

    [Fact]
    public void Every_tensor_factory_names_its_device()
    {
        var implicitCpu = Sources()
            .SelectMany(source => Factories(source.Text).Where(call => !call.Contains("device", StringComparison.OrdinalIgnoreCase))
                .Select(call => $"{source.File}: {call}"))
            .ToList();

        Assert.True(
            implicitCpu.Count == 0,
            "tensor factories without a device, which make a CPU tensor that fails when mixed with the model's on CUDA; pass " +
            "device: (the input's or the model's; CPU where it is meant, e.g. a constructor before ModelPlacement.PlaceOn):\n  " +
            string.Join("\n  ", implicitCpu));
    }

    [Fact]
    public void Every_read_of_tensor_memory_goes_through_the_cpu()
    {
        var reads = Sources().SelectMany(source => MemoryReads(source.Text).Select(statement => (source.File, Statement: statement))).ToList();
        var unlisted = reads
            .Where(read => !read.Statement.Contains(".cpu()", StringComparison.Ordinal))
            .Where(read => !CpuReads.Any(listed => listed.File == read.File && listed.Statement == read.Statement))
            .Select(read => $"{read.File}: {read.Statement}")
            .ToList();
        var stale = CpuReads.Where(listed => !reads.Contains((listed.File, listed.Statement))).Select(listed => $"{listed.File}: {listed.Statement}").ToList();

        Assert.True(
            unlisted.Count == 0,
            "reads of tensor memory that TorchSharp refuses on a GPU (\"Reading data from non-CPU memory is not supported\"); " +
            "call .cpu() first in the same statement:\n  " + string.Join("\n  ", unlisted));
        Assert.True(stale.Count == 0, "listed CPU reads that are no longer in the source; remove them from CpuReads:\n  " + string.Join("\n  ", stale));
    }

    /// <summary>The check sees what it must: a factory without a device, one with it, and a read with and without .cpu().</summary>
    [Fact]
    public void The_scanner_finds_factories_and_reads_across_lines_and_ignores_comments()
    {
        const string code = """
            var a = zeros(2, dtype: int64);            // zeros(3) in a comment is not code
            var b = torch.ones(
                4, device: x.device);
            var c = tensor(ids.Select(id => (long)id).ToArray());
            var n = x.data<float>().ToArray();
            var m = x.cpu().data<float>().ToArray();
            var q = model.zeros_like(x);
            """;

        Assert.Equal(["zeros(2, dtype: int64)", "ones( 4, device: x.device)", "tensor(ids.Select(id => (long)id).ToArray())"], Factories(code));
        Assert.Equal(["var n = x.data<float>().ToArray()", "var m = x.cpu().data<float>().ToArray()"], MemoryReads(code));
    }

    private static IEnumerable<(string File, string Text)> Sources()
    {
        var root = BuiltHosts.RepositoryFile();
        foreach (var project in Projects)
        {
            foreach (var path in Directory.EnumerateFiles(Path.Combine(root, "src", project), "*.cs", SearchOption.AllDirectories)
                .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal))
            {
                yield return (Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/'), WithoutComments(File.ReadAllText(path)));
            }
        }
    }

    /// <summary>Calls of libtorch's tensor factories (<c>zeros(…)</c>, <c>torch.tensor(…)</c>, …) with their arguments, whitespace collapsed.</summary>
    private static List<string> Factories(string code)
    {
        var calls = new List<string>();
        foreach (Match match in FactoryCall().Matches(WithoutComments(code)))
        {
            var text = WithoutComments(code);
            var end = ClosingParenthesis(text, match.Index + match.Length);
            calls.Add(Collapse(text[(match.Groups["name"].Index)..end]));
        }

        return calls;
    }

    /// <summary>The statements that read a tensor's memory from .NET, whitespace collapsed, without their semicolon.</summary>
    private static List<string> MemoryReads(string code)
    {
        var text = WithoutComments(code);
        var statements = new List<string>();
        foreach (Match match in MemoryRead().Matches(text))
        {
            var start = new[] { text.LastIndexOf(';', match.Index), text.LastIndexOf('{', match.Index), text.LastIndexOf('}', match.Index) }.Max() + 1;
            var end = text.IndexOf(';', match.Index);
            var statement = Collapse(text[start..(end < 0 ? text.Length : end)]);
            if (statements.Count == 0 || statements[^1] != statement)
            {
                statements.Add(statement);
            }
        }

        return statements;
    }

    private static int ClosingParenthesis(string text, int afterOpening)
    {
        var depth = 1;
        var index = afterOpening;
        while (depth > 0 && index < text.Length)
        {
            depth += text[index] switch { '(' => 1, ')' => -1, _ => 0 };
            index++;
        }

        return index;
    }

    private static string WithoutComments(string code) => LineComment().Replace(code, "");

    private static string Collapse(string text) => Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex(@"(?<![\w.])(?:torch\.)?(?<name>(?:tensor|zeros|ones|full|arange|empty|eye|rand|randn|randint|randperm|linspace)\()")]
    private static partial Regex FactoryCall();

    [GeneratedRegex(@"\.(?:data<\w+>\(\)|bytes\b)")]
    private static partial Regex MemoryRead();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
