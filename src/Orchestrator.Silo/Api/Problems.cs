using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Silo.Api;

/// <summary>The RFC 7807 problems the API answers with; each says what is wrong and what to do.</summary>
internal static class Problems
{
    /// <summary>Problem types are URNs: stable identifiers clients can match on, with no page behind them to go stale.</summary>
    private const string TypeBase = "urn:blip-orchestrator:problem:";

    public static ProblemHttpResult InvalidSpec(IReadOnlyList<SpecError> errors) => Problem(
        StatusCodes.Status400BadRequest,
        "invalid-spec",
        "The experiment spec is invalid",
        $"The spec has {errors.Count} problem(s); each entry of 'errors' gives the path of the offending part and how to fix it. Nothing was created.",
        new Dictionary<string, object?> { ["errors"] = errors.Select(error => new { path = error.Path, message = error.Message }).ToList() });

    public static ProblemHttpResult BadRequest(string detail) =>
        Problem(StatusCodes.Status400BadRequest, "bad-request", "The request is invalid", detail);

    public static ProblemHttpResult Unauthorized(string detail) =>
        Problem(StatusCodes.Status401Unauthorized, "unauthenticated", "A credential is needed", detail);

    public static ProblemHttpResult Forbidden(string detail) =>
        Problem(StatusCodes.Status403Forbidden, "forbidden", "The caller may not do this", detail);

    public static ProblemHttpResult TooManyRequests(string detail) =>
        Problem(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests", detail);

    public static ProblemHttpResult NotFound(string detail) =>
        Problem(StatusCodes.Status404NotFound, "not-found", "Not found", detail);

    public static ProblemHttpResult Conflict(string detail) =>
        Problem(StatusCodes.Status409Conflict, "conflict", "The request conflicts with the experiment's state", detail);

    public static ProblemHttpResult TooLarge(string detail) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "too-large", "The request body is too large", detail);

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported content type", detail);

    public static ProblemHttpResult Unavailable(string detail) =>
        Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", "Not ready", detail);

    private static ProblemHttpResult Problem(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Type = TypeBase + type, Title = title, Detail = detail };
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        return TypedResults.Problem(problem);
    }
}
