namespace VisionLanguage.Training.Distributed;

/// <summary>
/// A collective across processes failed (a peer closed its connection, the backend reported an error) or did not
/// finish within its timeout. The group is unusable afterwards: the gang's generation is over, and the run is retried
/// as a whole from its last checkpoint.
/// </summary>
public sealed class CollectiveFailedException : Exception
{
    public CollectiveFailedException(string message)
        : base(message)
    {
    }

    public CollectiveFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CollectiveFailedException()
    {
    }
}
