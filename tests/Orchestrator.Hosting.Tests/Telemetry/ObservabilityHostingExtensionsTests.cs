using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting.Telemetry;

namespace Orchestrator.Hosting.Tests.Telemetry;

public sealed class ObservabilityHostingExtensionsTests
{
    [Fact]
    public void Json_format_selects_the_json_console_formatter_with_scopes()
    {
        using var services = Logging(("Logs:Format", "json"));

        Assert.Equal(ConsoleFormatterNames.Json, services.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
        Assert.True(services.GetRequiredService<IOptions<JsonConsoleFormatterOptions>>().Value.IncludeScopes);
    }

    [Fact]
    public void Text_is_the_default()
    {
        using var services = Logging();

        Assert.NotEqual(ConsoleFormatterNames.Json, services.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
    }

    [Theory]
    [InlineData("Logs:Format", "xml", "Logs:Format 'xml' is not one of Text, Json")]
    [InlineData("Tracing:Exporter", "zipkin", "Tracing:Exporter 'zipkin' is not one of None, Console, Otlp")]
    [InlineData("Tracing:Exporter", "1", "Tracing:Exporter '1' is not one of None, Console, Otlp")]
    public void An_unknown_setting_names_the_key_the_value_and_the_choices(string key, string value, string message)
    {
        var configuration = Configuration((key, value));

        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            new ServiceCollection().AddLogging(logging => logging.AddConsoleLogFormat(configuration));
            new ServiceCollection().AddRunTracing(configuration, "test");
        });

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_otlp_endpoint_that_is_not_a_uri_is_refused()
    {
        var configuration = Configuration(("Tracing:Exporter", "Otlp"), ("Tracing:OtlpEndpoint", "collector:4317"));

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddRunTracing(configuration, "test"));

        Assert.Contains("Tracing:OtlpEndpoint 'collector:4317' is not an http(s) URI", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Logging(params (string Key, string Value)[] settings)
    {
        var configuration = Configuration(settings);
        return new ServiceCollection().AddLogging(logging => logging.AddConsoleLogFormat(configuration)).BuildServiceProvider();
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(setting => new KeyValuePair<string, string?>(setting.Key, setting.Value))).Build();
}
