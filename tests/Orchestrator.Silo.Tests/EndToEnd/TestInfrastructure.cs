namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>The ports one silo listens on.</summary>
internal sealed record SiloPorts(int Http, int Silo, int Gateway)
{
    public static SiloPorts Free() => new(FreePort(), FreePort(), FreePort());

    public static int FreePort() => BuiltHosts.FreePort();
}
