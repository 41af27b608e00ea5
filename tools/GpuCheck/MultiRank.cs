using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using VisionLanguage.Training.Distributed.Nccl;

namespace GpuCheck;

/// <summary>
/// Two processes, one communicator, on one GPU (NCCL 2.30+ with <c>NCCL_MULTI_RANK_GPU_ENABLE=1</c>): each rank sums a
/// buffer of rank+1 with the other's. The unique id travels through a folder, standing in for the orchestrator's store.
/// </summary>
internal static class MultiRank
{
    public const int WorldSize = 2;

    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(90);

    public static JsonObject Run(string storeFolder)
    {
        Directory.CreateDirectory(storeFolder);
        var children = new List<(Process Process, Task<string> Output)>();
        for (var rank = 0; rank < WorldSize; rank++)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--child-rank", rank.ToString(CultureInfo.InvariantCulture), "--store", storeFolder })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["NCCL_MULTI_RANK_GPU_ENABLE"] = "1";
            var process = Process.Start(start)!;
            children.Add((process, process.StandardOutput.ReadToEndAsync()));
        }

        var result = new JsonObject();
        var failed = false;
        foreach (var (child, index) in children.Select((child, index) => (child, index)))
        {
            if (!child.Process.WaitForExit(ChildTimeout))
            {
                child.Process.Kill(entireProcessTree: true);
                failed = true;
                result[$"rank{index}"] = $"killed after {ChildTimeout.TotalSeconds:0} s";
                continue;
            }

            result[$"rank{index}"] = child.Output.Result.Trim();
            failed |= child.Process.ExitCode != 0;
        }

        if (failed)
        {
            throw new InvalidOperationException($"the two-rank all-reduce failed: {result.ToJsonString()}");
        }

        return result;
    }

    /// <summary>One rank's part, in a child process; prints one line and returns the exit code.</summary>
    public static int Child(int rank, string storeFolder)
    {
        try
        {
            NcclNative.LoadNccl();
            NcclNative.LoadCudaRuntime();
            var api = NativeNcclApi.Load();
            var raw = new RawNccl(api, ChildTimeout);
            var idFile = Path.Combine(storeFolder, "nccl-unique-id");
            NcclUniqueId id;
            if (rank == 0)
            {
                raw.Expect(api.GetUniqueId(out id), "ncclGetUniqueId", 0);
                File.WriteAllBytes(idFile + ".tmp", id.ToArray());
                File.Move(idFile + ".tmp", idFile, overwrite: true);
            }
            else
            {
                var watch = Stopwatch.StartNew();
                while (!File.Exists(idFile))
                {
                    if (watch.Elapsed > ChildTimeout)
                    {
                        throw new TimeoutException($"rank 0 published no unique id at {idFile} within {ChildTimeout.TotalSeconds:0} s");
                    }

                    Thread.Sleep(50);
                }

                id = NcclUniqueId.FromBytes(File.ReadAllBytes(idFile));
            }

            var (comm, _) = raw.Join(id, WorldSize, rank);
            var values = Enumerable.Repeat((float)(rank + 1), 4096).ToArray();
            var buffer = CudaRuntime.Upload(values);
            raw.Expect(api.AllReduce(buffer, buffer, (nuint)values.Length, NcclDataType.Float32, NcclRedOp.Sum, comm, 0), "ncclAllReduce", comm);
            raw.Wait(comm, onStream: true, "the two-rank all-reduce");
            var summed = CudaRuntime.Download(buffer, values.Length);
            CudaRuntime.Free(buffer);
            raw.Expect(api.CommFinalize(comm), "ncclCommFinalize", comm);
            raw.Wait(comm, onStream: false, "ncclCommFinalize");
            api.CommDestroy(comm);
            var right = summed.All(value => value == 3f);
            Console.WriteLine($"rank {rank}: all-reduce sum {(right ? "right" : "WRONG")} (first element {summed[0]})");
            return right ? 0 : 1;
        }
        catch (Exception exception)
        {
            Console.WriteLine($"rank {rank}: {exception.GetType().Name}: {exception.Message}");
            return 1;
        }
    }
}
