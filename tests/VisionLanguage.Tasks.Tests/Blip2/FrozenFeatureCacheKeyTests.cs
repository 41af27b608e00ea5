using VisionLanguage.Tasks.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Tests.Blip2;

/// <summary>The feature cache's key names the frozen encoder's precision, without moving the key of a float32 encoder.</summary>
public sealed class FrozenFeatureCacheKeyTests
{
    [Fact]
    public void A_bfloat16_encoders_features_are_kept_apart_and_float32_keys_stay_as_they_were()
    {
        var float32 = FrozenFeatureCache.Key("sha256:encoder", ["sha256:data"], imageSize: 16, blocksUsed: 1);

        Assert.Equal(float32, FrozenFeatureCache.Key("sha256:encoder", ["sha256:data"], 16, 1, ScalarType.Float32));
        Assert.NotEqual(float32, FrozenFeatureCache.Key("sha256:encoder", ["sha256:data"], 16, 1, ScalarType.BFloat16));
    }
}
