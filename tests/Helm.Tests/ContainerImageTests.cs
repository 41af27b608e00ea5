using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Helm.Tests;

/// <summary>
/// The images' Dockerfiles in deploy/docker, read as files (the test machines have no Docker daemon, and cannot restore
/// the CUDA TorchSharp package): what they publish and run exists, and each is the image the chart's values name.
/// </summary>
public sealed partial class ContainerImageTests
{
    [Theory]
    [InlineData("silo.Dockerfile", "src/Orchestrator.Silo/Orchestrator.Silo.csproj")]
    [InlineData("worker-cpu.Dockerfile", "src/Trainer.Worker/Trainer.Worker.csproj")]
    [InlineData("worker-cuda.Dockerfile", "src/Trainer.Worker/Trainer.Worker.csproj")]
    public void Each_image_publishes_a_host_of_the_repository_and_runs_its_assembly(string dockerfile, string project)
    {
        var text = Dockerfile(dockerfile);

        Assert.Equal(project, Assert.Single(PublishedProject().Matches(text)).Groups[1].Value);
        Assert.True(File.Exists(BuiltHosts.RepositoryFile(project.Split('/'))), $"{dockerfile} publishes {project}, which does not exist");
        Assert.EndsWith($"ENTRYPOINT [\"dotnet\", \"{Path.GetFileNameWithoutExtension(project)}.dll\"]", text.TrimEnd(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("silo.Dockerfile", "silo")]
    [InlineData("worker-cpu.Dockerfile", "worker", "cpu")]
    [InlineData("worker-cuda.Dockerfile", "worker", "gpu")]
    public void Each_image_is_built_under_the_name_and_tag_the_charts_values_give(string dockerfile, params string[] valuesPath)
    {
        var values = new YamlStream();
        values.Load(new StringReader(File.ReadAllText(BuiltHosts.RepositoryFile("helm", "blip-orchestrator", "values.yaml"))));
        var image = (YamlMappingNode)valuesPath.Append("image").Aggregate(values.Documents[0].RootNode, (node, key) => ((YamlMappingNode)node)[key]);

        Assert.Contains(
            $"docker build -f deploy/docker/{dockerfile} -t {image["repository"]}:{image["tag"]} .",
            Dockerfile(dockerfile),
            StringComparison.Ordinal);
    }

    [Fact]
    public void The_cpu_worker_builds_the_gloo_shim_and_names_it_in_VL_GLOO_LIBRARY()
    {
        var text = Dockerfile("worker-cpu.Dockerfile");

        Assert.Contains("RUN ./scripts/build-native.sh", text, StringComparison.Ordinal);
        Assert.Contains("COPY --from=build /src/.native/libvl_gloo.so /app/libvl_gloo.so", text, StringComparison.Ordinal);
        Assert.Contains("ENV VL_GLOO_LIBRARY=/app/libvl_gloo.so", text, StringComparison.Ordinal);
        // The shim's runtime dependency in the final stage, as the build stage's libgloo-dev brings it there.
        Assert.Contains("tzdata libgloo0", text, StringComparison.Ordinal);
        Assert.True(File.Exists(BuiltHosts.RepositoryFile("scripts", "build-native.sh")));
    }

    [Fact]
    public void The_cuda_worker_swaps_in_the_cuda_torchsharp_package_through_the_builds_own_property()
    {
        Assert.Contains("-p:TorchSharpPackage=TorchSharp-cuda-linux ", Dockerfile("worker-cuda.Dockerfile"), StringComparison.Ordinal);
        Assert.Contains(
            "<PackageVersion Include=\"TorchSharp-cuda-linux\" Version=\"0.107.0\" />",
            File.ReadAllText(BuiltHosts.RepositoryFile("Directory.Packages.props")),
            StringComparison.Ordinal);
        Assert.Contains(
            "<PackageReference Include=\"$(TorchSharpPackage)\" />",
            File.ReadAllText(BuiltHosts.RepositoryFile("src", "VisionLanguage.Models", "VisionLanguage.Models.csproj")),
            StringComparison.Ordinal);
    }

    private static string Dockerfile(string name) => File.ReadAllText(BuiltHosts.RepositoryFile("deploy", "docker", name));

    [GeneratedRegex(@"dotnet publish (\S+\.csproj)")]
    private static partial Regex PublishedProject();
}
