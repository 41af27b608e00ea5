using Trainer.Worker.Agent;
using static TorchSharp.torch;

namespace Trainer.Worker.Tests.Agent;

public sealed class TorchThreadsTests
{
    [Fact]
    public void A_set_thread_count_sizes_libtorchs_pool_and_zero_leaves_it_alone()
    {
        var before = get_num_threads();
        var other = before == 1 ? 2 : 1;
        try
        {
            Assert.Null(DeviceProbe.ApplyTorchThreads(new WorkerOptions()));
            Assert.Equal(before, get_num_threads());

            Assert.Equal(other, DeviceProbe.ApplyTorchThreads(new WorkerOptions { TorchThreads = other }));
            Assert.Equal(other, get_num_threads());
        }
        finally
        {
            set_num_threads(before);
        }
    }
}
