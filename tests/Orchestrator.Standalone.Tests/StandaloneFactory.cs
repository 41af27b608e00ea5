using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Orchestrator.Standalone.Tests;

/// <summary>The whole standalone host in process, on free ports.</summary>
public sealed class StandaloneFactory : WebApplicationFactory<Program>
{
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Orchestrator:SiloPort"] = BuiltHosts.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Orchestrator:GatewayPort"] = BuiltHosts.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
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
}
