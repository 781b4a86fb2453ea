using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using static Hybrid.Tests.Training.TrainingTestSupport;

namespace Hybrid.Tests.Training;

/// <summary>The hybrid regime: a synchronous stream and asynchronous workers on one parameter set.</summary>
public class HybridRegimeTests
{
    [Fact]
    public void TheStreamsGetEverySettingTheyShareWithTheHybridConfig()
    {
        // A hand-kept copy of the fields once left separate_networks out of the synchronous stream, whose network then
        // had another shape than the shared theta: the streams' configs are projections of the hybrid one.
        var config = new HybridConfig
        {
            SeparateNetworks = true, RmsEpsilonOutside = true, TMax = 7, WorkerTMax = 9, Lanes = new() { NumEnvs = 3 }, Threads = 2, Advantage = new() { GaeLambda = 0.9f },
            Hidden = [16], Compute = new() { Device = DeviceKind.Cpu }, Async = new() { Update = UpdateMode.Hogwild }, LearningRate = 3e-3f, Seed = 11,
        };
        A2cConfig sync = config.SyncStream;
        Assert.Equal((true, true, 7, 3, 1, 0.9f, DeviceKind.Cpu, 3e-3f, 11), (sync.SeparateNetworks, sync.RmsEpsilonOutside, sync.TMax, sync.Lanes.NumEnvs, sync.Threads, sync.Advantage.GaeLambda, sync.Compute.Device, sync.LearningRate, sync.Seed));
        Assert.Equal([16], sync.Hidden);
        A3cConfig workers = config.Workers;
        Assert.Equal((true, 9, 2, 0.9f, UpdateMode.Hogwild, 3e-3f, 11), (workers.SeparateNetworks, workers.TMax, workers.Threads, workers.Advantage.GaeLambda, workers.Async.Update, workers.LearningRate, workers.Seed));
        Assert.Equal(Acting.ActorCriticSpec(config).ToString(), Acting.ActorCriticSpec(sync).ToString());
    }

    [Fact]
    public void HybridSolvesCartPoleWithBothStreamsContributing()
    {
        // Defaults (8 synchronous lanes, one worker, lock); seeds 1-3 solved at 187k-231k steps in about a second.
        (RunSummary summary, RecordingSink sink) = Train(new HybridConfig { Seed = 4, StopWhenSolved = true, LogInterval = 20_000 });
        Assert.True(summary.Solved, $"mean return {summary.FinalMeanReturn:F1} after {summary.EnvSteps:N0} steps");
        Assert.Equal(2, summary.Threads);
        Assert.Equal(9, summary.NumEnvs);
        RuntimeTelemetry runtime = summary.Runtime!.Value;
        Assert.True(runtime.SyncStepsPerSecond > 0 && runtime.AsyncStepsPerSecond > 0, $"{runtime}");
        Assert.InRange(runtime.SyncUpdateShare, 0.05, 0.95);
        Assert.True(runtime.SyncPolicyLag >= 0 && runtime.AsyncPolicyLag >= 0, $"{runtime}");
        Assert.True(double.IsNaN(runtime.PredictionsPerSecond));
        Assert.All(sink.Rows.ToArray(), r => Assert.NotNull(r.Runtime));
        // Every interval's figures, not only the run's: the stream's updates are in the totals as soon as it counts
        // them, so the workers' share (totals less the stream's) is never negative.
        Assert.All(sink.Rows.ToArray(), r =>
        {
            RuntimeTelemetry t = r.Runtime!.Value;
            Assert.False(t.SyncUpdateShare > 1 || t.SyncUpdateShare < 0, $"{t}");
            Assert.False(t.SyncPolicyLag < 0 || t.AsyncPolicyLag < 0, $"{t}");
            Assert.False(t.AsyncStepsPerSecond < 0, $"{t}");
        });
    }

    [Fact]
    public void MoreWorkersTakeALargerShareOfTheUpdates()
    {
        // The workers' share grows with their number: the synchronous stream's share falls.
        double Share(int workers) => Train(new HybridConfig { Seed = 2, Threads = workers, MaxEnvSteps = 60_000 }).Summary.Runtime!.Value.SyncUpdateShare;
        double one = Share(1), three = Share(3);
        Assert.True(three < one, $"sync share {one:F3} with one worker, {three:F3} with three");
    }

    [Fact]
    public void DivergenceInTheHybridRegimeNamesTheStream()
    {
        var e = Assert.Throws<WorkerFailedException>(() => Train(new HybridConfig { LearningRate = 1e30f, MaxGradNorm = 0 }));
        Assert.Matches("^hybrid (sync stream|worker 0)$", e.Worker);
        Assert.Contains("NaN or infinite", e.InnerException!.Message);
    }

    [Fact]
    public void AServerApplierIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new HybridConfig { Async = new() { Update = Hybrid.Training.Config.UpdateMode.Server } }.Validate());
        Assert.Contains("update was server", e.Message);
    }
}
