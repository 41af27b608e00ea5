using Trainer.Worker.Runners;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

/// <summary>The worker's check of import paths at open: real paths, symbolic links resolved, under the roots only.</summary>
public sealed class ImportRootGuardTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void A_file_under_a_root_resolves_to_itself_and_dots_are_resolved()
    {
        var file = _folder.WriteText("root/a/ann.json", "[]");
        var guard = new ImportRootGuard([_folder.PathOf("root")]);

        Assert.Equal(file, guard.Resolve(file, "annotations"));
        Assert.Equal(file, guard.Resolve(_folder.PathOf("root/b/../a/./ann.json"), "annotations"));
        Assert.Equal(_folder.PathOf("root"), guard.Resolve(_folder.PathOf("root") + "/", "image_root"));
    }

    [Fact]
    public void Dot_dot_out_of_the_root_a_sibling_with_the_roots_name_as_prefix_and_a_relative_path_are_refused()
    {
        var guard = new ImportRootGuard([_folder.PathOf("root")]);
        var roots = $"this worker reads imports only under its import roots: {_folder.PathOf("root")} (Worker:ImportRoots)";

        Assert.StartsWith($"annotations '{_folder.PathOf("root/../other/x.json")}' resolves to '{_folder.PathOf("other/x.json")}', outside every import root; {roots}",
            Assert.Throws<ImportPathRefusedException>(() => guard.Resolve(_folder.PathOf("root/../other/x.json"), "annotations")).Message);
        Assert.StartsWith($"annotations '{_folder.PathOf("root2/x.json")}' is outside every import root; {roots}",
            Assert.Throws<ImportPathRefusedException>(() => guard.Resolve(_folder.PathOf("root2/x.json"), "annotations")).Message);
        Assert.StartsWith($"annotations 'root/x.json' is not an absolute path; {roots}",
            Assert.Throws<ImportPathRefusedException>(() => guard.Resolve("root/x.json", "annotations")).Message);
    }

    [Fact]
    public void A_link_inside_a_root_that_points_outside_is_refused_and_one_that_stays_inside_is_followed()
    {
        var secret = _folder.WriteText("outside/secret.txt", "no");
        _folder.WriteText("root/real/ann.json", "[]");
        File.CreateSymbolicLink(_folder.PathOf("root/escape"), _folder.PathOf("outside"));
        File.CreateSymbolicLink(_folder.PathOf("root/alias"), "real");
        var guard = new ImportRootGuard([_folder.PathOf("root")]);

        var refused = Assert.Throws<ImportPathRefusedException>(() => guard.Resolve(_folder.PathOf("root/escape/secret.txt"), "annotations"));
        Assert.StartsWith($"annotations '{_folder.PathOf("root/escape/secret.txt")}' resolves to '{secret}', outside every import root", refused.Message);
        Assert.Equal(_folder.PathOf("root/real/ann.json"), guard.Resolve(_folder.PathOf("root/alias/ann.json"), "annotations"));
    }

    [Fact]
    public void A_root_that_is_itself_a_link_admits_paths_through_the_link_and_through_its_target()
    {
        var file = _folder.WriteText("volume/data/ann.json", "[]");
        File.CreateSymbolicLink(_folder.PathOf("mounted"), _folder.PathOf("volume/data"));
        var guard = new ImportRootGuard([_folder.PathOf("mounted")]);

        Assert.Equal(file, guard.Resolve(_folder.PathOf("mounted/ann.json"), "annotations"));
        Assert.Equal(file, guard.Resolve(file, "annotations"));
    }

    [Fact]
    public void A_loop_of_links_is_refused_rather_than_followed_forever()
    {
        Directory.CreateDirectory(_folder.PathOf("root"));
        File.CreateSymbolicLink(_folder.PathOf("root/a"), _folder.PathOf("root/b"));
        File.CreateSymbolicLink(_folder.PathOf("root/b"), _folder.PathOf("root/a"));
        var guard = new ImportRootGuard([_folder.PathOf("root")]);

        Assert.Contains("passes more than 40 symbolic links (a loop?)",
            Assert.Throws<ImportPathRefusedException>(() => guard.Resolve(_folder.PathOf("root/a/x"), "annotations")).Message);
    }

    [Fact]
    public void A_worker_without_roots_refuses_every_path_and_says_how_to_add_one()
    {
        var guard = new ImportRootGuard([]);

        Assert.Contains("(none: no worker is configured with Worker:ImportRoots)",
            Assert.Throws<ImportPathRefusedException>(() => guard.Resolve("/etc/passwd", "annotations")).Message);
    }

    public void Dispose() => _folder.Dispose();
}
