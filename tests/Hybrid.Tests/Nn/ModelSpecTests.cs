using Hybrid.Nn.Models;

namespace Hybrid.Tests.Nn;

public class ModelSpecTests
{
    [Theory]
    [InlineData("actor-critic obs=4 hidden=64,64 act=tanh actions=discrete:2 init=orthogonal")]
    [InlineData("q obs=10x10x4 conv=16k3s1p0 hidden=128 act=relu actions=discrete:6 init=orthogonal")]
    [InlineData("actor-critic obs=10x10x4 layout=chw conv=16k3s1p0 hidden=128 act=relu actions=discrete:6 init=orthogonal")]
    [InlineData("actor-critic obs=3 hidden=none act=tanh actions=box:1 init=uniform")]
    [InlineData("deterministic obs=3 hidden=256,256 act=relu actions=box:1 init=orthogonal")]
    [InlineData("critic obs=3 hidden=256,256 act=relu actions=box:1 atoms=51 init=orthogonal")]
    public void TextFormRoundTrips(string text)
    {
        ModelSpec spec = ModelSpec.Parse(text);
        Assert.Equal(text, spec.ToString());
        Assert.Equal(spec, ModelSpec.Parse(spec.ToString()));
    }

    [Fact]
    public void DefaultsAreTheCartPoleActorCritic() =>
        Assert.Equal("actor-critic obs=4 hidden=64,64 act=tanh actions=discrete:2 init=orthogonal", ModelSpec.Parse("actor-critic").ToString());

    [Theory]
    [InlineData("", "empty")]
    [InlineData("policy obs=4", "kind 'policy'")]
    [InlineData("q obs=4 actions=box:2", "Q-network needs discrete")]
    [InlineData("critic obs=4 actions=discrete:2", "a critic acts in a box")]
    [InlineData("deterministic obs=4 actions=discrete:2", "a deterministic policy acts in a box")]
    [InlineData("critic obs=4x4x1 conv=2k3s1p0 actions=box:1", "a critic takes the observation and the action side by side")]
    [InlineData("q obs=4 atoms=3", "expected 1, or more for a critic")]
    [InlineData("actor-critic obs=4x4", "expected 1 (vector) or 3")]
    [InlineData("actor-critic obs=4 conv=16k3s1p0", "Conv needs an image")]
    [InlineData("actor-critic hidden=64,-1", "not a ','-separated list")]
    [InlineData("actor-critic act=sigmoid", "act 'sigmoid'")]
    [InlineData("actor-critic size=3", "key 'size'")]
    [InlineData("q obs=3x3x1 conv=4k5s1p0", "larger than the padded input")]
    [InlineData("actor-critic obs=4 layout=chw", "ChannelsFirst needs an image")]
    [InlineData("actor-critic obs=4x4x4 layout=cwh", "layout 'cwh'")]
    public void BadSpecsSayWhatIsWrong(string text, string message)
    {
        var ex = Assert.Throws<FormatException>(() => ModelSpec.Parse(text));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void ConvTorsoOutputFeedsTheHiddenLayer()
    {
        Network network = ModelSpec.Parse("q obs=10x10x4 conv=16k3s1p0 hidden=128 act=relu actions=discrete:6").Build();
        // 3x3 valid conv on 10x10 -> 8x8x16 = 1024 features into linear 1024 -> 128.
        Assert.Equal(1024, network.Torso[0].OutputSize);
        Assert.Equal(128, network.FeatureSize);
    }
}
