using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>The test broker's <c>rabbitmqctl</c> (<see cref="TestServers.RabbitMqCtl"/>), for vhosts and broker restarts.</summary>
internal static class RabbitMqControl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static async Task RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(TestServers.Get(TestServers.RabbitMqCtl)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rabbitmqctl {string.Join(' ', arguments)} did not finish within {Timeout.TotalSeconds:0} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await errors}");
        }
    }
}

/// <summary>The ports one silo listens on.</summary>
internal sealed record SiloPorts(int Http, int Silo, int Gateway)
{
    public static SiloPorts Free() => new(FreePort(), FreePort(), FreePort());

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Where the hosts the end-to-end tests start were built (beside this test project, in the same configuration), and the repository's files.</summary>
internal static class BuiltHosts
{
    public static string Silo => Dll("src/Orchestrator.Silo", "Orchestrator.Silo");

    public static string Worker => Dll("tests/Trainer.Worker.TestHost", "Trainer.Worker.TestHost");

    /// <summary>A file of the repository, e.g. <c>RepositoryFile("helm", "chart", "values.yaml")</c>.</summary>
    public static string RepositoryFile(params string[] path) => Path.Combine([Root().FullName, .. path]);

    private static string Dll(string project, string assembly)
    {
        // bin/<Configuration>/<TargetFramework>/ of this test project.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        return Path.Combine(Root().FullName, project, "bin", configuration, framework, assembly + ".dll");
    }

    private static DirectoryInfo Root()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orchestrator.sln")))
        {
            root = root.Parent;
        }

        return root ?? throw new InvalidOperationException($"no Orchestrator.sln above {AppContext.BaseDirectory}: the end-to-end tests run from the repository's build output");
    }
}
