using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;


namespace Orchestrator.Silo.Tests;

/// <summary>The whole silo host in process, on free ports, without an in-process worker unless asked for.</summary>
public sealed class OrchestratorFactory : WebApplicationFactory<Program>
{
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Orchestrator:SiloPort"] = FreePort().ToString(),
        ["Orchestrator:GatewayPort"] = FreePort().ToString(),
        ["Orchestrator:InProcessWorker"] = "false",
    };

    /// <summary>More host configuration, e.g. a capturing logger provider.</summary>
    public Action<IWebHostBuilder>? ConfigureHost { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        ConfigureHost?.Invoke(builder);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
