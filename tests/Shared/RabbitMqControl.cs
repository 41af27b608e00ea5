using System.Diagnostics;

namespace Orchestrator.Testing;

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

/// <summary>A vhost of its own on the test broker, so no other test's queues or messages can reach a test's; removed when disposed.</summary>
internal sealed class RabbitMqVhost : IAsyncDisposable
{
    private RabbitMqVhost(string name, Uri broker)
    {
        Name = name;
        Broker = broker;
    }

    public string Name { get; }

    /// <summary>The broker's amqp:// URI with this vhost as its path, e.g. for <c>Transport:RabbitMq</c>.</summary>
    public Uri Broker { get; }

    public static async Task<RabbitMqVhost> CreateAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}";
        await RabbitMqControl.RunAsync("add_vhost", name);
        await RabbitMqControl.RunAsync("set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        return new RabbitMqVhost(name, new UriBuilder(TestServers.Get(TestServers.RabbitMq)) { Path = name }.Uri);
    }

    public async ValueTask DisposeAsync() => await RabbitMqControl.RunAsync("delete_vhost", Name);
}
