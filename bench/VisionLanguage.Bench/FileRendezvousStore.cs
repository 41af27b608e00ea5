using VisionLanguage.Training.Distributed;

namespace VisionLanguage.Bench;

/// <summary>
/// A rendezvous store in a folder that every rank of the bench's gang can read (torch's <c>FileStore</c>): one file per
/// key, written beside and renamed into place so that a reader sees a whole value or none. The bench's ranks are
/// processes of one machine with no orchestrator between them; a worker's gang meets through the stage grain instead.
/// </summary>
internal sealed class FileRendezvousStore(string folder) : IRendezvousStore
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    public async Task SetAsync(string key, byte[] value, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var written = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(written, value, cancellationToken);
        try
        {
            File.Move(written, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(written);
            if (!(await File.ReadAllBytesAsync(path, cancellationToken)).AsSpan().SequenceEqual(value))
            {
                throw new InvalidOperationException($"rendezvous key '{key}' is already set to another value in {folder}; give each bench run a fresh folder");
            }
        }
    }

    public async Task<byte[]> GetAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"rendezvous key '{key}' was not set in {folder} within {timeout.TotalSeconds:F0} s: did every rank of the bench start?");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        return await File.ReadAllBytesAsync(path, cancellationToken);
    }

    private string PathOf(string key) => Path.Combine(folder, Uri.EscapeDataString(key));
}
