using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Standalone.Tests.Api;

/// <summary>
/// <c>dataset.import</c> reads only under the workers' import roots: a path outside them is refused at submission
/// (400, naming the option, the path and the roots), and a link inside a root that points outside is refused by the
/// worker when it opens it (the stage fails for good, naming the roots). The standalone host's in-process worker has
/// one root here, a folder of the test's own.
/// </summary>
public sealed class ImportConfinementTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("import-roots-").FullName;
    private readonly StandaloneHost _host;

    public ImportConfinementTests()
    {
        Directory.CreateDirectory(Root);
        _host = StandaloneHost.With(new Dictionary<string, string?> { ["Worker:ImportRoots:0"] = Root });
    }

    private string Root => Path.Combine(_folder, "root");

    [Theory]
    [InlineData("/etc/passwd", "is outside every import root of the workers")]
    [InlineData("{root}/../outside/annotations.json", "is outside every import root of the workers")]
    [InlineData("{root}2/annotations.json", "is outside every import root of the workers")]
    [InlineData("annotations.json", "is not an absolute path")]
    public async Task A_path_outside_the_roots_is_refused_at_submission_naming_the_option_the_path_and_the_roots(string annotations, string problem)
    {
        annotations = annotations.Replace("{root}", Root, StringComparison.Ordinal);
        var before = await TotalAsync();

        var response = await PostAsync(Import(annotations, Root));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsArray())!;
        Assert.Equal("/stages/0/config/annotations", error["path"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.StartsWith($"annotations '{annotations}' {problem}", message);
        Assert.Contains(Root, message, StringComparison.Ordinal);
        Assert.Equal(before, await TotalAsync());
    }

    [Fact]
    public async Task A_link_inside_a_root_that_points_outside_passes_submission_and_is_refused_by_the_worker_naming_the_roots()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_folder, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "annotations.json"), """[{"image": "secret.png", "caption": "a secret"}]""");
        File.CreateSymbolicLink(Path.Combine(Root, "linked"), outside);
        var linked = Path.Combine(Root, "linked");

        var id = await _host.SubmitAsync(Import(Path.Combine(linked, "annotations.json"), linked));
        await _host.ReadEventsAsync(id, TimeSpan.FromMinutes(1));

        var stage = (await _host.GetAsync(id))["stages"]![0]!;
        Assert.Equal("Failed", stage["status"]!.GetValue<string>());
        var attempt = Assert.Single(stage["attempts"]!.AsArray())!;
        Assert.False(attempt["retryable"]!.GetValue<bool>());
        Assert.StartsWith(
            $"annotations '{Path.Combine(linked, "annotations.json")}' resolves to '{Path.Combine(outside, "annotations.json")}', outside every import root; " +
            $"this worker reads imports only under its import roots: {Root} (Worker:ImportRoots)",
            attempt["error"]!.GetValue<string>());
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string Import(string annotations, string imageRoot) => $$"""
        name: import-confinement
        stages:
          - id: data
            kind: dataset.import
            config: { annotations: {{JsonSerializer.Serialize(annotations)}}, image_root: {{JsonSerializer.Serialize(imageRoot)}} }
        """;

    private Task<HttpResponseMessage> PostAsync(string yaml) =>
        _host.Client.PostAsync("/api/v1/experiments", new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    private async Task<int> TotalAsync() =>
        JsonNode.Parse(await _host.Client.GetStringAsync("/api/v1/experiments"))!["total"]!.GetValue<int>();
}
