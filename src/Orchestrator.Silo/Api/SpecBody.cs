using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>Reads a submitted spec's body and format, within the size limit (<c>SpecLimits:MaxBytes</c>).</summary>
internal static class SpecBody
{
    private static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];
    private static readonly string[] JsonTypes = ["application/json", "text/json"];

    public static async Task<SpecBodyResult> ReadAsync(HttpRequest request)
    {
        SpecFormat format;
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType?.ToLowerInvariant() : null;
        if (mediaType is null || JsonTypes.Contains(mediaType) || mediaType.EndsWith("+json", StringComparison.Ordinal))
        {
            format = SpecFormat.Json;
        }
        else if (YamlTypes.Contains(mediaType) || mediaType.EndsWith("+yaml", StringComparison.Ordinal))
        {
            format = SpecFormat.Yaml;
        }
        else
        {
            return SpecBodyResult.Failed(Problems.UnsupportedMediaType($"Content-Type '{request.ContentType}' is not a spec format; send application/json or application/yaml."));
        }

        // From the request's services, so the endpoint's signature stays as it is.
        var maxBytes = request.HttpContext.RequestServices.GetRequiredService<IOptions<SpecLimits>>().Value.MaxBytes;
        if (request.ContentLength > maxBytes)
        {
            return SpecBodyResult.Failed(TooLarge(request.ContentLength.Value, maxBytes));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return SpecBodyResult.Failed(TooLarge(buffer.Length, maxBytes));
            }
        }

        if (buffer.Length == 0)
        {
            return SpecBodyResult.Failed(Problems.BadRequest("The request has no body; send the experiment spec as JSON or YAML."));
        }

        try
        {
            return new SpecBodyResult(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length), format, null);
        }
        catch (DecoderFallbackException)
        {
            return SpecBodyResult.Failed(Problems.BadRequest("The body is not valid UTF-8; send the spec as UTF-8 text."));
        }
    }

    private static ProblemHttpResult TooLarge(long bytes, int maxBytes)
    {
        Security.ApiMetrics.Rejected(Security.ApiMetrics.SpecBudget);
        return Problems.TooLarge($"The spec is over {bytes} bytes; the limit is {maxBytes} bytes ({SpecLimits.Setting(nameof(SpecLimits.MaxBytes))}). Split the experiment or raise the limit.");
    }
}

/// <summary>The spec's text and format, or the problem that stopped reading it.</summary>
internal sealed record SpecBodyResult(string Text, SpecFormat Format, ProblemHttpResult? Problem)
{
    public static SpecBodyResult Failed(ProblemHttpResult problem) => new("", SpecFormat.Json, problem);
}
