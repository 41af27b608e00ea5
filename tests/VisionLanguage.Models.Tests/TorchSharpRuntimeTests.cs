using System.Reflection;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests;

/// <summary>
/// Proves that the native TorchSharp stack loads and computes correctly in the build output, which on
/// Debian 12 depends on the libLibTorchSharp.so patch in build/TorchSharpNativeFix.targets.
/// </summary>
public sealed class TorchSharpRuntimeTests
{
    // Central differences have O(h^2) truncation error and O(eps / h) rounding error; in float64 with
    // h = 1e-6 both stay near 1e-10 absolute, and the worst relative error here is about 2e-8 (on the
    // smallest gradient, ~8.5e-3), some fifty times inside the tolerance.
    private const double Step = 1e-6;
    private const double RelativeTolerance = 1e-6;

    // Floor for the relative comparison so that an element whose true gradient is ~0 is not judged on noise.
    private const double AbsoluteFloor = 1e-9;

    [Fact]
    public void Cuda_probe_does_not_throw_and_a_cpu_tensor_op_is_exact()
    {
        using var scope = torch.NewDisposeScope();

        var probe = Record.Exception(() => torch.cuda.is_available());
        Assert.Null(probe);

        var sum = torch.tensor(new[] { 1.5, 2.25, -0.75 }, float64).sum();
        Assert.Equal(3.0, sum.item<double>());
    }

    [Fact]
    public void Autograd_gradients_of_a_two_layer_tanh_mlp_match_central_finite_differences()
    {
        using var mlp = new TinyMlp();
        SetParametersDeterministically(mlp);
        using var input = torch.tensor(Series(count: 5 * 3, phase: 0.1), [5, 3], float64);
        using var target = torch.tensor(Series(count: 5 * 2, phase: 2.3), [5, 2], float64);

        var parameters = mlp.named_parameters().ToList();
        var analytic = new Dictionary<string, double[]>();
        using (torch.NewDisposeScope())
        {
            Loss(mlp, input, target).backward();
            foreach (var (name, parameter) in parameters)
            {
                analytic[name] = parameter.grad!.data<double>().ToArray();
            }
        }

        var failures = new List<string>();
        var checkedElements = 0;
        foreach (var (name, parameter) in parameters)
        {
            using var parameterScope = torch.NewDisposeScope();
            // A detached flat view shares the parameter's storage, so writing through it perturbs the
            // parameter in place without recording autograd history.
            var values = parameter.detach().view(-1).data<double>();
            for (long i = 0; i < values.Count; i++)
            {
                var original = values[i];
                values[i] = original + Step;
                var lossPlus = LossValue(mlp, input, target);
                values[i] = original - Step;
                var lossMinus = LossValue(mlp, input, target);
                values[i] = original;

                var numeric = (lossPlus - lossMinus) / (2 * Step);
                var autograd = analytic[name][i];
                var allowed = RelativeTolerance * Math.Max(Math.Abs(autograd), Math.Abs(numeric)) + AbsoluteFloor;
                if (Math.Abs(autograd - numeric) > allowed)
                {
                    failures.Add($"{name}[{i}]: autograd {autograd:R}, finite difference {numeric:R}");
                }

                checkedElements++;
            }
        }

        Assert.Empty(failures);
        // 3x4 + 4 hidden, 4x2 + 2 output: every element was checked, none silently skipped.
        Assert.Equal(26, checkedElements);
        Assert.Contains(analytic.Values.SelectMany(g => g), g => Math.Abs(g) > 1e-3);
    }

    /// <summary>
    /// The build links package files into outputs (CreateHardLinksForCopyLocalIfPossible) and then patches the output's
    /// libLibTorchSharp.so. The patch must replace the link, not write through it: the NuGet cache keeps the file as
    /// shipped, and the output differs from it in exactly the weak flag of one version requirement.
    /// </summary>
    [Fact]
    public void The_output_library_is_patched_and_the_package_cache_copy_is_not()
    {
        const byte verFlgWeak = 0x2;
        var (inOutput, inCache) = LibTorchSharpPaths();
        var output = File.ReadAllBytes(inOutput);
        var cache = File.ReadAllBytes(inCache);

        Assert.Equal(cache.Length, output.Length);
        var differing = Enumerable.Range(0, cache.Length).Where(i => cache[i] != output[i]).ToList();
        var offset = Assert.Single(differing);
        Assert.Equal(0, cache[offset] & verFlgWeak);
        Assert.Equal(cache[offset] | verFlgWeak, output[offset]);
    }

    /// <summary>
    /// Where libLibTorchSharp.so is in this output and in the NuGet cache, from this output's deps.json. The build is for
    /// linux-x64 (Directory.Build.props), so the package's runtimes/linux-x64/native file sits flat in the output; a
    /// RID-neutral build would keep it under runtimes/ (a runtime target rather than a native asset).
    /// </summary>
    private static (string InOutput, string InCache) LibTorchSharpPaths()
    {
        var packageRoot = typeof(TorchSharpRuntimeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "NuGetPackageRoot").Value;
        Assert.False(string.IsNullOrEmpty(packageRoot), "the test project records no NuGetPackageRoot");
        var deps = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "VisionLanguage.Models.Tests.deps.json")))!;
        var target = deps["targets"]![deps["runtimeTarget"]!["name"]!.GetValue<string>()]!.AsObject();
        foreach (var (package, library) in target)
        {
            foreach (var (kind, flat) in new[] { ("native", true), ("runtimeTargets", false) })
            {
                if (library?[kind]?.AsObject().Select(asset => asset.Key).FirstOrDefault(asset => asset.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal)) is { } relative)
                {
                    var inOutput = Path.Combine(AppContext.BaseDirectory, flat ? Path.GetFileName(relative) : relative);
                    return (inOutput, Path.Combine(packageRoot!, deps["libraries"]![package]!["path"]!.GetValue<string>(), relative));
                }
            }
        }

        throw new InvalidOperationException("no package in VisionLanguage.Models.Tests.deps.json brings libLibTorchSharp.so");
    }

    private static Tensor Loss(TinyMlp mlp, Tensor input, Tensor target) =>
        nn.functional.mse_loss(mlp.call(input), target);

    private static double LossValue(TinyMlp mlp, Tensor input, Tensor target)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Loss(mlp, input, target).item<double>();
    }

    // Fixed values rather than the seeded initialiser: the global torch generator is shared with every
    // other test, so a formula keeps this test's inputs identical whatever runs alongside it.
    private static void SetParametersDeterministically(TinyMlp mlp)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var phase = 0.0;
        foreach (var (_, parameter) in mlp.named_parameters())
        {
            parameter.copy_(torch.tensor(Series(checked((int)parameter.numel()), phase), parameter.shape, float64));
            phase += 1.0;
        }
    }

    private static double[] Series(int count, double phase) =>
        Enumerable.Range(1, count).Select(i => 0.8 * Math.Sin(0.37 * i + phase)).ToArray();

    private sealed class TinyMlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear _hidden;
        private readonly Linear _output;

        public TinyMlp()
            : base(nameof(TinyMlp))
        {
            _hidden = nn.Linear(3, 4, dtype: float64);
            _output = nn.Linear(4, 2, dtype: float64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _output.call(tanh(_hidden.call(input)));
    }
}
