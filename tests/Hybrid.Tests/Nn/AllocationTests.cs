using Hybrid.Nn;
using Hybrid.Nn.Models;

namespace Hybrid.Tests.Nn;

public class AllocationTests
{
    [Fact]
    public void BatchOneForwardAllocatesNothingInSteadyState()
    {
        var network = (ActorCriticNetwork)ModelSpec.CartPoleActorCritic.Build();
        float[] theta = new float[network.ParameterCount];
        network.Initialize(theta, new Rng(1));
        float[] obs = [0.01f, -0.02f, 0.03f, 0.04f];
        for (int i = 0; i < 1000; i++) network.Forward(theta, obs, 1); // warm-up: buffers, JIT tiers
        long before = GC.GetAllocatedBytesForCurrentThread();
        float sink = 0;
        for (int i = 0; i < 10_000; i++)
        {
            network.Forward(theta, obs, 1);
            sink += network.Values(1)[0];
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(float.IsFinite(sink));
    }

    [Fact]
    public void BatchedTrainingStepAllocatesNothingInSteadyState()
    {
        var network = (ActorCriticNetwork)ModelSpec.CartPoleActorCritic.Build();
        ParameterArena arena = network.CreateArena();
        network.Initialize(arena.Parameters, new Rng(1));
        var step = new Hybrid.Cli.Bench.NnBenchmark.TrainStep(network, arena, new Rng(2), batch: 256, Hybrid.Nn.Kernels.Simd.Best);
        for (int i = 0; i < 20; i++) step.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) step.Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
