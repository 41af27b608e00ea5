using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Testing;

/// <summary>
/// The repository's files, and the hosts the tests start as processes: built beside the test project, in the same
/// configuration (a test project builds what it starts through a ProjectReference, without referencing its assembly
/// when it must not carry its dependencies, e.g. TorchSharp).
/// </summary>
internal static class BuiltHosts
{
    /// <summary>The cluster silo, <c>src/Orchestrator.Silo</c>.</summary>
    public static string Silo => Dll("src/Orchestrator.Silo", "Orchestrator.Silo");

    /// <summary>The one-process host, <c>src/Orchestrator.Standalone</c>.</summary>
    public static string Standalone => Dll("src/Orchestrator.Standalone", "Orchestrator.Standalone");

    /// <summary>The worker with the test runners, <c>tests/Trainer.Worker.TestHost</c>.</summary>
    public static string Worker => Dll("tests/Trainer.Worker.TestHost", "Trainer.Worker.TestHost");

    /// <summary>The worker with its real runners, <c>src/Trainer.Worker</c>: it trains.</summary>
    public static string TrainingWorker => Dll("src/Trainer.Worker", "Trainer.Worker");

    /// <summary>The orchestration benchmarks, <c>bench/Orchestrator.Bench</c>.</summary>
    public static string Bench => Dll("bench/Orchestrator.Bench", "Orchestrator.Bench");

    /// <summary>The training benches, <c>bench/VisionLanguage.Bench</c>.</summary>
    public static string VisionLanguageBench => Dll("bench/VisionLanguage.Bench", "VisionLanguage.Bench");

    /// <summary>A file of the repository, e.g. <c>RepositoryFile("helm", "chart", "values.yaml")</c>.</summary>
    public static string RepositoryFile(params string[] path) => Path.Combine([Root().FullName, .. path]);

    /// <summary>The build output folder (<c>bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;</c>) of <paramref name="project"/>, a folder of the repository.</summary>
    public static string Output(string project)
    {
        // bin/<Configuration>/<TargetFramework>/ of this test project.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        return Path.Combine(Root().FullName, project, "bin", configuration, framework);
    }

    /// <summary>A port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs the built host <paramref name="dll"/> with <paramref name="arguments"/> to its exit (at most three minutes); returns its exit code, standard output's lines and standard error.</summary>
    public static Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(string dll, params string[] arguments) =>
        RunAsync(dll, TimeSpan.FromMinutes(3), arguments);

    /// <summary>As <see cref="RunAsync(string, string[])"/>, within <paramref name="limit"/>; past it the host is killed and the wait throws.</summary>
    public static async Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(string dll, TimeSpan limit, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            var standardError = process.StandardError.ReadToEndAsync(timeout.Token);
            var standardOutput = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = await standardError;
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, standardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), errors);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(' ', arguments)} ran past {limit.TotalMinutes} minutes and was killed");
        }
    }

    private static string Dll(string project, string assembly) => Path.Combine(Output(project), assembly + ".dll");

    private static DirectoryInfo Root()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orchestrator.sln")))
        {
            root = root.Parent;
        }

        return root ?? throw new InvalidOperationException($"no Orchestrator.sln above {AppContext.BaseDirectory}: the tests run from the repository's build output");
    }
}
