using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Orchestrator.Grains.Experiments.Index;

namespace Orchestrator.Silo.Api;

/// <summary>
/// The <c>cursor</c> of <c>GET /api/v1/experiments</c>: opaque to clients (base64url), it holds the place in the
/// newest-first order after which the next page starts and the filters of the listing it came from, so that it is never
/// applied to another listing. Anything else sent as a cursor is refused with a 400 that says what to send.
/// </summary>
internal static class ExperimentListCursor
{
    private const string Version = "c1";

    /// <summary>Longer than any cursor this API gives out with labels of a sane length; longer ones are not read at all.</summary>
    public const int MaxLength = 4096;

    public static string Encode(ExperimentListPosition position, ExperimentQuery query) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('\n',
            Version, position.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture), position.Id, Filters(query))));

    /// <summary>The place <paramref name="cursor"/> holds, or a message naming what is wrong with it and what to send instead.</summary>
    public static bool TryDecode(string cursor, ExperimentQuery query, out ExperimentListPosition? position, out string? problem)
    {
        position = null;
        problem = null;
        var shown = cursor.Length > 40 ? cursor[..40] + "…" : cursor;
        var notOurs = $"cursor '{shown}' is not one this API gave out; send the nextCursor of the previous page unchanged, or leave cursor out to start from the newest.";
        if (cursor.Length is 0 or > MaxLength || !Base64Url.IsValid(cursor))
        {
            problem = notOurs;
            return false;
        }

        string[] parts;
        try
        {
            parts = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(cursor)).Split('\n', 4);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            problem = notOurs;
            return false;
        }

        if (parts.Length != 4 || parts[0] != Version
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks
            || !ExperimentIds.IsWellFormed(parts[2]))
        {
            problem = notOurs;
            return false;
        }

        if (parts[3] != Filters(query))
        {
            problem = $"cursor '{shown}' continues a listing with {Describe(parts[3])}, not one with {Describe(Filters(query))}; " +
                "send it with the filters of the listing it came from, or leave cursor out to start from the newest.";
            return false;
        }

        position = new ExperimentListPosition(new DateTimeOffset(ticks, TimeSpan.Zero), parts[2]);
        return true;
    }

    /// <summary>The filters, as the query string gives them: <c>status=…&amp;label=NAME:VALUE</c>.</summary>
    private static string Filters(ExperimentQuery query) =>
        string.Join('&', new[]
        {
            query.Status is { } status ? $"status={status}" : null,
            query.LabelName is { } name ? $"label={name}:{query.LabelValue}" : null,
        }.Where(filter => filter is not null));

    private static string Describe(string filters) => filters.Length == 0 ? "no filter" : filters;
}
