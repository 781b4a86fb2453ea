using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Losses;

namespace Hybrid.Tests.Nn;

public class NetworkTests
{
    [Theory]
    [InlineData(1, "")]
    [InlineData(9, "")]
    [InlineData(1, " value=separate")]
    [InlineData(9, " value=separate")]
    public void ActorCriticDiscreteGradientMatchesFiniteDifferences(int batch, string value)
    {
        var spec = ModelSpec.Parse("actor-critic obs=4 hidden=16,16 act=tanh actions=discrete:3" + value);
        var network = (ActorCriticNetwork)spec.Build();
        var rng = new Rng(41, (ulong)batch);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        for (int i = 0; i < theta.Length; i++) theta[i] += rng.NextFloat(-0.2f, 0.2f); // heads start tiny; move them
        float[] obs = GradientCheck.Random(rng, batch * 4, 2f);
        int[] taken = new int[batch];
        for (int b = 0; b < batch; b++) taken[b] = rng.NextInt(3);
        float[] advantages = GradientCheck.Random(rng, batch), returns = GradientCheck.Random(rng, batch);

        var gradients = new float[theta.Length];
        var dLogits = new float[batch * 3];
        var dValues = new float[batch];
        network.Forward(theta, obs, batch);
        ActorCriticLoss.Categorical(network.Policy(batch), 3, taken, advantages, returns, network.Values(batch), 0.5f, 0.01f, dLogits, dValues);
        network.Backward(theta, obs, dLogits, dValues, gradients, batch);

        double Loss()
        {
            network.Forward(theta, obs, batch);
            return ActorCriticLoss.Categorical(network.Policy(batch), 3, taken, advantages, returns, network.Values(batch), 0.5f, 0.01f,
                new float[batch * 3], new float[batch]).Total(0.5f, 0.01f);
        }
        GradientCheck.Assert(theta, gradients, Loss, "actor-critic theta", maxIndices: 400);
    }

    [Fact]
    public void ARecurrentActorCriticsUnrollGradientMatchesFiniteDifferences()
    {
        // torso -> LSTM -> heads over 5 steps of 3 lanes, with lane 1's episode ending after step 2: the loss of every
        // row's policy and value, through the unroll and the reset.
        const int lanes = 3, steps = 5, batch = lanes * steps;
        var network = (ActorCriticNetwork)ModelSpec.Parse("actor-critic obs=2 hidden=8 act=tanh actions=discrete:2 lstm=6").Build();
        var rng = new Rng(43);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        for (int i = 0; i < theta.Length; i++) theta[i] += rng.NextFloat(-0.2f, 0.2f);
        float[] obs = GradientCheck.Random(rng, batch * 2, 2f);
        float[] h0 = GradientCheck.Random(rng, lanes * 6, 0.5f), c0 = GradientCheck.Random(rng, lanes * 6, 0.5f);
        bool[] resets = new bool[batch];
        resets[3 * lanes + 1] = true;
        int[] taken = new int[batch];
        for (int b = 0; b < batch; b++) taken[b] = rng.NextInt(2);
        float[] advantages = GradientCheck.Random(rng, batch), returns = GradientCheck.Random(rng, batch);

        var gradients = new float[theta.Length];
        var dLogits = new float[batch * 2];
        var dValues = new float[batch];
        network.ForwardSequence(theta, obs, h0, c0, resets, lanes, steps);
        ActorCriticLoss.Categorical(network.Policy(batch), 2, taken, advantages, returns, network.Values(batch), 0.5f, 0.01f, dLogits, dValues);
        network.BackwardSequence(theta, obs, dLogits, dValues, gradients, lanes, steps);

        double Loss()
        {
            network.ForwardSequence(theta, obs, h0, c0, resets, lanes, steps);
            return ActorCriticLoss.Categorical(network.Policy(batch), 2, taken, advantages, returns, network.Values(batch), 0.5f, 0.01f,
                new float[batch * 2], new float[batch]).Total(0.5f, 0.01f);
        }
        GradientCheck.Assert(theta, gradients, Loss, "recurrent actor-critic theta", maxIndices: 400);
    }

    [Fact]
    public void ARecurrentActorCriticStepsAsItsUnrollComputes()
    {
        // Acting one step at a time from a carried state gives the unroll's outputs, and the network refuses the feed-forward calls.
        const int lanes = 2, steps = 4;
        var network = (ActorCriticNetwork)ModelSpec.Parse("actor-critic obs=2 hidden=8 act=tanh actions=discrete:2 lstm=5").Build();
        var rng = new Rng(44);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        float[] obs = GradientCheck.Random(rng, lanes * steps * 2, 2f);
        network.ForwardSequence(theta, obs, new float[lanes * 5], new float[lanes * 5], default, lanes, steps);
        float[] unrolled = network.Values(lanes * steps).ToArray();
        float[] h = new float[lanes * 5], c = new float[lanes * 5];
        for (int t = 0; t < steps; t++)
        {
            network.Step(theta, obs.AsSpan(t * lanes * 2, lanes * 2), h, c, lanes);
            for (int lane = 0; lane < lanes; lane++) Assert.Equal(unrolled[t * lanes + lane], network.Values(lanes)[lane], 6);
        }
        var ex = Assert.Throws<InvalidOperationException>(() => network.Forward(theta, obs, lanes));
        Assert.Contains("LSTM", ex.Message);
    }

    [Fact]
    public void ActorCriticBoxGradientIncludesLogStd()
    {
        const int batch = 7, dims = 2;
        var network = (ActorCriticNetwork)ModelSpec.Parse("actor-critic obs=3 hidden=8 act=tanh actions=box:2").Build();
        var rng = new Rng(42);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        for (int i = 0; i < theta.Length; i++) theta[i] += rng.NextFloat(-0.2f, 0.2f);
        float[] obs = GradientCheck.Random(rng, batch * 3), taken = GradientCheck.Random(rng, batch * dims);
        float[] advantages = GradientCheck.Random(rng, batch), returns = GradientCheck.Random(rng, batch);

        float[] Gradient()
        {
            var gradients = new float[theta.Length];
            var dMean = new float[batch * dims];
            var dValues = new float[batch];
            network.Forward(theta, obs, batch);
            ActorCriticLoss.Gaussian(network.Policy(batch), network.LogStd.Of(theta), taken, advantages, returns, network.Values(batch),
                0.5f, 0.01f, dMean, network.LogStd.Of(gradients.AsSpan()), dValues);
            network.Backward(theta, obs, dMean, dValues, gradients, batch);
            return gradients;
        }
        float[] analytic = Gradient();
        double Loss()
        {
            network.Forward(theta, obs, batch);
            return ActorCriticLoss.Gaussian(network.Policy(batch), network.LogStd.Of(theta), taken, advantages, returns, network.Values(batch),
                0.5f, 0.01f, new float[batch * dims], new float[dims], new float[batch]).Total(0.5f, 0.01f);
        }
        GradientCheck.Assert(theta, analytic, Loss, "box theta");
        Assert.Equal(dims, network.LogStd.Count);
    }

    [Fact]
    public void ConvQNetworkGradientMatchesFiniteDifferences()
    {
        const int batch = 3;
        var network = (QNetwork)ModelSpec.Parse("q obs=6x6x2 conv=4k3s1p1 hidden=8 act=relu actions=discrete:3").Build();
        var rng = new Rng(43);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        float[] obs = GradientCheck.Random(rng, batch * 72);
        float[] w = GradientCheck.Random(rng, batch * 3);
        var gradients = new float[theta.Length];
        network.Forward(theta, obs, batch);
        network.Backward(theta, obs, w, gradients, batch);
        double Loss()
        {
            network.Forward(theta, obs, batch);
            return GradientCheck.Dot(network.QValues(batch), w);
        }
        GradientCheck.Assert(theta, gradients, Loss, "conv q theta", maxIndices: 400, kinks: true);
    }

    [Fact]
    public void ACriticsGradientInItsInputsMatchesFiniteDifferences()
    {
        // The deterministic policy gradient chains dQ/da into the actor: the critic's gradient in its inputs (the
        // observation and the action side by side), here of a 5-atom head, against central differences; and in theta.
        const int batch = 3;
        var critic = (QNetwork)ModelSpec.Parse("critic obs=3 hidden=8,8 act=relu actions=box:2 atoms=5").Build();
        Assert.Equal((5, 5), (critic.InputSize, critic.Outputs));
        var rng = new Rng(45);
        float[] theta = new float[critic.ParameterCount];
        critic.Initialize(theta, rng);
        float[] inputs = GradientCheck.Random(rng, batch * 5), w = GradientCheck.Random(rng, batch * 5);
        float[] gradients = new float[theta.Length], inputGradient = new float[batch * 5];
        critic.Forward(theta, inputs, batch);
        critic.Backward(theta, inputs, w, gradients, batch, inputGradient);
        double Loss()
        {
            critic.Forward(theta, inputs, batch);
            return GradientCheck.Dot(critic.QValues(batch), w);
        }
        GradientCheck.Assert(inputs, inputGradient, Loss, "critic inputs", kinks: true);
        GradientCheck.Assert(theta, gradients, Loss, "critic theta", kinks: true);
    }

    [Fact]
    public void ANetworkWithoutATorsoGivesItsHeadsWeightsAsTheInputGradient()
    {
        // No hidden layers: Q = w . x + b, so dQ/dx is w (the torso's input gradient is the head's).
        var critic = (QNetwork)ModelSpec.Parse("critic obs=2 hidden=none act=tanh actions=box:1 atoms=1").Build();
        float[] theta = new float[critic.ParameterCount];
        critic.Initialize(theta, new Rng(3));
        float[] inputs = [0.5f, -1f, 2f], inputGradient = new float[3], gradients = new float[theta.Length];
        critic.Forward(theta, inputs, 1);
        critic.Backward(theta, inputs, [1f], gradients, 1, inputGradient);
        double Loss()
        {
            critic.Forward(theta, inputs, 1);
            return critic.QValues(1)[0];
        }
        GradientCheck.Assert(inputs, inputGradient, Loss, "linear critic inputs");
    }

    [Fact]
    public void BatchOneAndBatchedForwardAgree()
    {
        var network = (ActorCriticNetwork)ModelSpec.CartPoleActorCritic.Build();
        var rng = new Rng(44);
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, rng);
        for (int i = 0; i < theta.Length; i++) theta[i] += rng.NextFloat(-0.1f, 0.1f);
        float[] obs = GradientCheck.Random(rng, 20 * 4);
        network.Forward(theta, obs, 20);
        float[] logits = network.Policy(20).ToArray(), values = network.Values(20).ToArray();
        for (int b = 0; b < 20; b++)
        {
            network.Forward(theta, obs.AsSpan(b * 4, 4), 1);
            GemmTests.AssertClose(logits.AsSpan(b * 2, 2), network.Policy(1), 1e-5f, $"logits row {b}");
            GemmTests.AssertClose(values.AsSpan(b, 1), network.Values(1), 1e-5f, $"value row {b}");
        }
    }

    [Theory]
    [InlineData("actor-critic obs=4 hidden=64,64 act=tanh actions=discrete:2", 1)]
    [InlineData("actor-critic obs=4 hidden=64,64 act=tanh actions=discrete:2", 67)]
    [InlineData("q obs=7x7x3 conv=8k3s2p1 hidden=20 act=relu actions=discrete:5", 9)]
    public void VectorPathsMatchTheScalarNetwork(string specText, int batch)
    {
        ModelSpec spec = ModelSpec.Parse(specText);
        var rng = new Rng(45);
        Network reference = spec.Build();
        float[] theta = new float[reference.ParameterCount];
        reference.Initialize(theta, rng);
        for (int i = 0; i < theta.Length; i++) theta[i] += rng.NextFloat(-0.1f, 0.1f);
        float[] obs = GradientCheck.Random(rng, batch * spec.ObservationSize);
        float[] dOut = GradientCheck.Random(rng, batch * (spec.Actions + 1));
        reference.VectorWidth = Hybrid.Nn.Kernels.SimdWidth.Scalar;
        (float[] expectedOut, float[] expectedGrad) = RunBoth(reference, theta, obs, dOut, batch);
        foreach (var width in new[] { Hybrid.Nn.Kernels.SimdWidth.Vector256, Hybrid.Nn.Kernels.SimdWidth.Vector512 })
        {
            Network network = spec.Build();
            network.VectorWidth = width;
            (float[] output, float[] gradient) = RunBoth(network, theta, obs, dOut, batch);
            GemmTests.AssertClose(expectedOut, output, 2e-5f, $"{width} outputs");
            GemmTests.AssertClose(expectedGrad, gradient, 2e-4f, $"{width} gradients");
        }
    }

    static (float[] Output, float[] Gradient) RunBoth(Network network, float[] theta, float[] obs, float[] dOut, int batch)
    {
        var gradient = new float[theta.Length];
        int actions = network.Spec.Actions;
        if (network is ActorCriticNetwork ac)
        {
            ac.Forward(theta, obs, batch);
            float[] output = [.. ac.Policy(batch), .. ac.Values(batch)];
            ac.Backward(theta, obs, dOut.AsSpan(0, batch * actions), dOut.AsSpan(batch * actions, batch), gradient, batch);
            return (output, gradient);
        }
        var q = (QNetwork)network;
        q.Forward(theta, obs, batch);
        float[] qValues = q.QValues(batch).ToArray();
        q.Backward(theta, obs, dOut.AsSpan(0, batch * actions), gradient, batch);
        return (qValues, gradient);
    }

    [Fact]
    public void TwoThreadsGiveTheSameOutputsAndGradientsAsOne()
    {
        const int batch = 1024;
        ModelSpec spec = ModelSpec.CartPoleActorCritic;
        var rng = new Rng(46);
        Network single = spec.Build(), parallel = spec.Build();
        parallel.Threads = 2;
        float[] theta = new float[single.ParameterCount];
        single.Initialize(theta, rng);
        float[] obs = GradientCheck.Random(rng, batch * 4), dOut = GradientCheck.Random(rng, batch * 3);
        (float[] out1, float[] grad1) = RunBoth(single, theta, obs, dOut, batch);
        (float[] out2, float[] grad2) = RunBoth(parallel, theta, obs, dOut, batch);
        Assert.Equal(out1, out2);
        Assert.Equal(grad1, grad2);
        Assert.Throws<ArgumentOutOfRangeException>(() => parallel.Threads = 0);
    }

    [Fact]
    public void CartPoleActorCriticHasTheExpectedParameterCount()
    {
        Network network = ModelSpec.CartPoleActorCritic.Build();
        // (4*64 + 64) + (64*64 + 64) + (64*2 + 2) + (64*1 + 1)
        Assert.Equal(320 + 4160 + 130 + 65, network.ParameterCount);
        Assert.Equal(["linear 4x64", "tanh", "linear 64x64", "tanh", "policy", "value"], network.Layout.Slices.Select(s => s.Name).ToArray());
    }

    [Fact]
    public void ASeparateValueNetworkHasATorsoOfItsOwn()
    {
        ModelSpec separate = ModelSpec.CartPoleActorCritic with { SeparateValue = true };
        Assert.Equal(separate, ModelSpec.Parse(separate.ToString()));
        Assert.EndsWith(" value=separate", separate.ToString());
        var network = (ActorCriticNetwork)separate.Build();
        // The shared model's parameters, plus a second 4 -> 64 -> 64 torso for the value head.
        Assert.Equal(320 + 4160 + 130 + 65 + 320 + 4160, network.ParameterCount);
        Assert.Equal(["linear 4x64", "tanh", "linear 64x64", "tanh", "policy", "value/linear 4x64", "value/tanh", "value/linear 64x64", "value/tanh", "value"],
            network.Layout.Slices.Select(s => s.Name).ToArray());
        // The value does not move when only the policy's torso changes, and the policy does not when the value's does.
        var theta = new float[network.ParameterCount];
        network.Initialize(theta, new Rng(3, 0));
        float[] obs = [0.1f, -0.2f, 0.03f, 0.4f];
        network.Forward(theta, obs, 1);
        float value = network.Values(1)[0];
        float[] policy = network.Policy(1).ToArray();
        network.Layout.Slices.Single(s => s.Name == "linear 4x64").Of(theta.AsSpan()).Fill(0.3f);
        network.Forward(theta, obs, 1);
        Assert.Equal(value, network.Values(1)[0]);
        Assert.NotEqual(policy, network.Policy(1).ToArray());
        Assert.Throws<ArgumentException>(() => (ModelSpec.CartPoleActorCritic with { Kind = ModelKind.QNetwork, SeparateValue = true }).Validate());
    }

    [Fact]
    public void InitializationIsDeterministicPerSeed()
    {
        Network network = ModelSpec.CartPoleActorCritic.Build();
        float[] a = new float[network.ParameterCount], b = new float[network.ParameterCount], c = new float[network.ParameterCount];
        network.Initialize(a, new Rng(1));
        network.Initialize(b, new Rng(1));
        network.Initialize(c, new Rng(2));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void NetworkValidatesArguments()
    {
        var network = (ActorCriticNetwork)ModelSpec.CartPoleActorCritic.Build();
        var ex = Assert.Throws<ArgumentException>(() => network.Forward(new float[10], new float[4], 1));
        Assert.Equal("theta", ex.ParamName);
        Assert.Contains($"expected exactly {network.ParameterCount}", ex.Message);
        var obs = Assert.Throws<ArgumentException>(() => network.Forward(new float[network.ParameterCount], new float[7], 2));
        Assert.Equal("observations", obs.ParamName);
        var batch = Assert.Throws<ArgumentOutOfRangeException>(() => network.Forward(new float[network.ParameterCount], new float[4], 0));
        Assert.Equal("batch", batch.ParamName);
    }
}
