namespace Orchestrator.Contracts.Specs;

/// <summary>A reference <c>stage.output</c> to an output of another stage.</summary>
public sealed record OutputReference(string StageId, string Output)
{
    /// <summary>Parses <c>stage.output</c>; the stage id may not contain a dot, the output name may not be empty.</summary>
    public static bool TryParse(string text, out OutputReference reference)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == text.Length - 1)
        {
            reference = new OutputReference("", "");
            return false;
        }

        reference = new OutputReference(text[..dot], text[(dot + 1)..]);
        return true;
    }

    public override string ToString() => $"{StageId}.{Output}";
}
