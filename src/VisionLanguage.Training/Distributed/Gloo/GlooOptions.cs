namespace VisionLanguage.Training.Distributed.Gloo;

/// <summary>How one rank of a Gloo group binds, meets its peers and bounds its collectives.</summary>
public sealed record GlooOptions
{
    /// <summary>
    /// The address (or resolvable name) this rank listens on and publishes to its peers; used when
    /// <see cref="NetworkInterface"/> is not set. Loopback suits ranks on one machine; a pod gives its own IP.
    /// </summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>A network interface to bind instead of <see cref="Hostname"/> (e.g. <c>eth0</c>): Gloo takes its first address.</summary>
    public string? NetworkInterface { get; init; }

    /// <summary>
    /// How long joining may take in all: every rank's address must reach the store, and every connection must open,
    /// within it. The scheduler starts a gang's ranks together, so minutes cover a slow container start.
    /// </summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long one collective may wait for its peers before it fails with <see cref="CollectiveFailedException"/>
    /// (torch.distributed's default process-group timeout is 30 minutes; a step here is far shorter).
    /// </summary>
    public TimeSpan CollectiveTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The prefix of this group's keys in the rendezvous store, so other users of the generation's store do not collide.</summary>
    public string KeyPrefix { get; init; } = "gloo/";

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Hostname) && string.IsNullOrWhiteSpace(NetworkInterface))
        {
            throw new ArgumentException("GlooOptions needs a Hostname or a NetworkInterface to bind; set one (127.0.0.1 for ranks on one machine)");
        }

        foreach (var (name, value) in new[] { (nameof(JoinTimeout), JoinTimeout), (nameof(CollectiveTimeout), CollectiveTimeout) })
        {
            if (value <= TimeSpan.Zero || value.TotalMilliseconds >= long.MaxValue)
            {
                throw new ArgumentOutOfRangeException(name, value, $"GlooOptions.{name} must be a positive, finite duration");
            }
        }
    }
}
