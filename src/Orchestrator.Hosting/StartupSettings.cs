using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Orchestrator.Hosting;

/// <summary>
/// Settings a host (the silo, the worker or the standalone host) refuses, reported as one message naming each failure
/// with exit code 2, instead of the stack trace of an exception thrown while the host is built or part-way through
/// its start.
/// </summary>
public static class StartupSettings
{
    /// <summary>The exit code of a process that refused its settings.</summary>
    public const int InvalidExitCode = 2;

    /// <summary>
    /// Runs <paramref name="host"/> (build, <see cref="Validate"/>, run); when options validation refuses settings on
    /// the way, prints <see cref="Describe"/>'s message to standard error and returns <see cref="InvalidExitCode"/>.
    /// </summary>
    public static async Task<int> GuardAsync(Func<Task<int>> host)
    {
        try
        {
            return await host();
        }
        catch (Exception exception) when (Describe(exception) is { } message)
        {
            await Console.Error.WriteLineAsync(message);
            return InvalidExitCode;
        }
    }

    /// <summary>Validates now every option registered with <c>ValidateOnStart</c>, before anything is started.</summary>
    public static void Validate(IServiceProvider services) => services.GetService<IStartupValidator>()?.Validate();

    /// <summary>The message for options validation refusing settings, alone or several at once; otherwise null.</summary>
    public static string? Describe(Exception exception)
    {
        var refused = exception is AggregateException aggregate ? aggregate.InnerExceptions : [exception];
        if (refused.Count == 0 || !refused.All(inner => inner is OptionsValidationException))
        {
            return null;
        }

        var failures = refused.Cast<OptionsValidationException>().SelectMany(inner => inner.Failures).Select(failure => "  " + failure);
        return "The configuration is invalid:\n" + string.Join('\n', failures) +
            "\nFix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.";
    }
}
