using TorchSharp.Modules;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>The bucket plan (reverse order, caps, dtype splits) and the averaging through it.</summary>
public sealed class GradientBucketsTests
{
    [Fact]
    public void Buckets_take_parameters_in_reverse_order_up_to_their_caps_and_split_where_the_dtype_changes()
    {
        // 4-byte floats: a = 10 elements (40 B), b = 20 (80 B), c = 5 float64 (40 B), d = 30 (120 B), e = 1 (4 B).
        Parameter[] parameters = [Make("a", 10, float32), Make("b", 20, float32), Make("c", 5, float64), Make("d", 30, float32), Make("e", 1, float32)];

        var buckets = new GradientBuckets(parameters, firstBucketBytes: 124, bucketBytes: 160).Buckets;

        // e + d = 124 B fill the first bucket; c is float64 alone; b + a = 120 B fit the second cap.
        Assert.Equal([["e", "d"], ["c"], ["b", "a"]], buckets.Select(bucket => bucket.Select(parameter => parameter.name).ToArray()).ToArray());
    }

    [Fact]
    public void A_parameter_larger_than_the_cap_gets_a_bucket_of_its_own()
    {
        Parameter[] parameters = [Make("small", 2, float32), Make("large", 100, float32), Make("last", 2, float32)];

        var buckets = new GradientBuckets(parameters, firstBucketBytes: 16, bucketBytes: 16).Buckets;

        Assert.Equal([["last"], ["large"], ["small"]], buckets.Select(bucket => bucket.Select(parameter => parameter.name).ToArray()).ToArray());
    }

    [Fact]
    public async Task Averaging_through_buckets_gives_each_gradient_its_mean_over_the_ranks()
    {
        using var group = new InProcessCollectives(2);
        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
        {
            Parameter[] parameters = [Make("a", 3, float32), Make("b", 4, float32), Make("c", 2, float64)];
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i].grad = arange(parameters[i].numel(), dtype: parameters[i].dtype).mul(rank + 1).add(10 * i);
            }

            new GradientBuckets(parameters, firstBucketBytes: 12, bucketBytes: 16).AverageGradients(group.ForRank(rank));
            return parameters.Select(parameter => parameter.grad!.to_type(float64).data<double>().ToArray()).ToArray();
        })));

        // Mean of (i·1 + 10k) and (i·2 + 10k) = 1.5·i + 10k.
        double[][] expected = [[0, 1.5, 3], [10, 11.5, 13, 14.5], [20, 21.5]];
        Assert.All(results, result => Assert.Equal(expected, result));
    }

    private static Parameter Make(string name, int elements, ScalarType dtype) =>
        new(zeros(elements, dtype: dtype), requires_grad: true) { name = name };
}
