namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>How long an NCCL communicator waits for its peers, and where its ranks meet in the rendezvous store.</summary>
public sealed record NcclOptions
{
    /// <summary>
    /// How long a rank waits for rank 0's unique id in the store, and then for the communicator to form; torchrun's
    /// join timeout (600 s) by default.
    /// </summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long one collective may take from enqueueing to completion before the communicator is aborted. NCCL has no
    /// timeout of its own (a dead peer hangs the others for ever); PyTorch's ProcessGroupNCCL default is 10 minutes.
    /// </summary>
    public TimeSpan CollectiveTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The store key under which rank 0 publishes the 128-byte NCCL unique id.</summary>
    public string UniqueIdKey { get; init; } = "nccl/unique-id";

    internal void Validate()
    {
        if (JoinTimeout <= TimeSpan.Zero || CollectiveTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"NCCL timeouts must be positive, but JoinTimeout is {JoinTimeout} and CollectiveTimeout is {CollectiveTimeout}: give both a " +
                "positive duration (NCCL itself never times out, so these are what end a hang)");
        }

        if (string.IsNullOrWhiteSpace(UniqueIdKey))
        {
            throw new ArgumentException("NcclOptions.UniqueIdKey is empty: give the rendezvous store key rank 0 publishes the NCCL unique id under");
        }
    }
}
