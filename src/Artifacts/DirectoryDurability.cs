using System.Runtime.InteropServices;

namespace Orchestrator.Artifacts;

/// <summary>
/// Makes directory entries durable. A rename is only on the disk once the directory holding it has been
/// fsynced; .NET cannot open a directory as a stream, so on Unix this calls open(2) and fsync(2) itself.
/// </summary>
internal static class DirectoryDurability
{
    private const int ReadOnly = 0;

    // Linux errno values: file systems that cannot fsync a directory (some network and FUSE ones) say so
    // with these, and then there is nothing more the store can do.
    private const int InvalidArgument = 22;
    private const int NotSupported = 95;

    /// <summary>Flushes <paramref name="directory"/>'s entries to the disk where the platform allows it.</summary>
    public static void Flush(string directory)
    {
        // Windows has no directory handle to flush; NTFS journals the rename itself.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = Open(directory, ReadOnly);
        if (descriptor < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to flush it to the disk (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(descriptor) != 0 && Marshal.GetLastPInvokeError() is var error && error is not (InvalidArgument or NotSupported))
            {
                throw new IOException($"cannot flush directory '{directory}' to the disk (errno {error})");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    /// <summary>
    /// Creates <paramref name="directory"/> and any missing ancestors, flushing the parent of each one it
    /// creates, so the new path survives a crash along with whatever is later renamed into it.
    /// </summary>
    public static void CreateDirectory(string directory)
    {
        var missing = new Stack<string>();
        for (var current = Path.GetFullPath(directory); !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
        {
            missing.Push(current);
        }

        Directory.CreateDirectory(directory);
        foreach (var created in missing)
        {
            Flush(Path.GetDirectoryName(created)!);
        }
    }

    /// <summary>Flushes <paramref name="directory"/> and every directory below it.</summary>
    public static void FlushTree(string directory)
    {
        foreach (var subdirectory in Directory.EnumerateDirectories(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            Flush(subdirectory);
        }

        Flush(directory);
    }

    // DllImport rather than LibraryImport: the latter's generated code needs AllowUnsafeBlocks for the whole
    // project, for three calls whose marshalling (an int, a UTF-8 string) the runtime does without it.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int descriptor);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int descriptor);
}
