using Microsoft.Extensions.Options;

namespace Orchestrator.Silo.Security;

/// <summary>Checks <see cref="AuthOptions"/> at start: the access decision, every configured key, the keys file and JWT settings.</summary>
public sealed class AuthOptionsValidator(ApiAccess access) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        if (access.Refusal is { } refusal)
        {
            errors.Add(refusal);
        }

        errors.AddRange(ApiKeyEntries.Problems(options.ApiKeys, "Auth:ApiKeys"));
        if (!string.IsNullOrWhiteSpace(options.ApiKeysFile))
        {
            try
            {
                errors.AddRange(ApiKeyEntries.Problems(ApiKeyEntries.ReadFile(options.ApiKeysFile), $"Auth:ApiKeysFile '{options.ApiKeysFile}'"));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                errors.Add($"Auth:ApiKeysFile '{options.ApiKeysFile}' cannot be read ({exception.Message}); point it at a JSON list of keys, e.g. [{{\"id\": \"ci\", \"hash\": \"...\", \"scopes\": [\"submit\"]}}]");
            }
        }

        if (options.Jwt.Enabled && string.IsNullOrWhiteSpace(options.Jwt.Audience))
        {
            errors.Add("Auth:Jwt:Audience is empty; set the audience the issuer puts in tokens for this API, e.g. --Auth:Jwt:Audience=blip-orchestrator");
        }

        if (options.Jwt.Enabled && !Uri.TryCreate(options.Jwt.Authority, UriKind.Absolute, out _))
        {
            errors.Add($"Auth:Jwt:Authority is '{options.Jwt.Authority}'; set it to the issuer's URL, e.g. https://login.example.com/realms/ml");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
