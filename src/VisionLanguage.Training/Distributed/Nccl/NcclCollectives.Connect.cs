namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>Joining a gang's communicator: whether NCCL loads, the unique id through the rendezvous store, the nonblocking init.</summary>
public sealed partial class NcclCollectives
{
    /// <summary>Why NCCL or the CUDA runtime does not load in this process, naming every place tried; null when both load.</summary>
    public static string? UnavailableReason
    {
        get
        {
            try
            {
                NativeNcclApi.Load();
                return null;
            }
            catch (DllNotFoundException exception)
            {
                return exception.Message;
            }
        }
    }

    /// <summary>
    /// Joins the communicator of <paramref name="worldSize"/> ranks as <paramref name="rank"/>: rank 0 creates NCCL's
    /// unique id and publishes it in <paramref name="store"/>, the others read it, and all form the communicator. Call
    /// it in a process whose one visible GPU is CUDA device 0, with that device already in use (a tensor created on it).
    /// </summary>
    public static Task<NcclCollectives> ConnectAsync(
        int rank, int worldSize, IRendezvousStore store, NcclOptions options, CancellationToken cancellationToken) =>
        ConnectAsync(rank, worldSize, store, options, NativeNcclApi.Load(), TimeProvider.System, cancellationToken);

    internal static async Task<NcclCollectives> ConnectAsync(
        int rank, int worldSize, IRendezvousStore store, NcclOptions options, INcclApi api, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        ArgumentNullException.ThrowIfNull(store);
        options.Validate();

        var versionResult = api.GetVersion(out var version);
        if (versionResult != NcclResult.Success || version < MinimumVersion)
        {
            throw new NotSupportedException(
                $"the NCCL library loaded reports version {version} ({versionResult}), but nonblocking communicators need NCCL 2.14 " +
                $"({MinimumVersion}) or newer: point NCCL_LIBRARY at a newer libnccl.so.2");
        }

        NcclUniqueId uniqueId;
        if (rank == 0)
        {
            var created = api.GetUniqueId(out uniqueId);
            if (created != NcclResult.Success)
            {
                throw new CollectiveFailedException(
                    $"rank 0 could not create an NCCL unique id: ncclGetUniqueId returned {Describe(api, created, 0)}");
            }

            await store.SetAsync(options.UniqueIdKey, uniqueId.ToArray(), cancellationToken);
        }
        else
        {
            var published = await store.GetAsync(options.UniqueIdKey, options.JoinTimeout, cancellationToken);
            if (published.Length != NcclUniqueId.Size)
            {
                throw new InvalidDataException(
                    $"rendezvous key '{options.UniqueIdKey}' holds {published.Length} bytes, but an NCCL unique id is {NcclUniqueId.Size} " +
                    "(NCCL_UNIQUE_ID_BYTES): only rank 0's NcclCollectives.ConnectAsync may write that key; give every generation a " +
                    "store of its own so no other value can sit there");
            }

            uniqueId = NcclUniqueId.FromBytes(published);
        }

        var config = NcclConfig.Nonblocking();
        var initialised = api.CommInitRankConfig(out var comm, worldSize, uniqueId, rank, ref config);
        if (initialised is not (NcclResult.Success or NcclResult.InProgress))
        {
            var message = $"rank {rank} of {worldSize} could not join the NCCL communicator: ncclCommInitRankConfig returned " +
                Describe(api, initialised, comm);
            if (comm != 0)
            {
                api.CommAbort(comm);
            }

            throw new CollectiveFailedException(message);
        }

        var collectives = new NcclCollectives(rank, worldSize, comm, api, time, options);
        try
        {
            lock (collectives._gate)
            {
                collectives.Wait(
                    $"rank {rank} of {worldSize} joining the NCCL communicator", onStream: false, options.JoinTimeout, cancellationToken);
            }

            return collectives;
        }
        catch
        {
            // The wait aborted the communicator already; this only releases the managed side.
            collectives.Dispose();
            throw;
        }
    }
}
