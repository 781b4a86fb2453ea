using Hybrid.Envs;
using Hybrid.Gpu;
using Hybrid.Gpu.Kernels;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Gpu;

/// <summary>A2C end to end on the device kernels (ILGPU's CPU accelerator), and how devices are chosen.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceTrainingTests(IlgpuFixture fixture)
{
    [Fact]
    public void A2cOnTheDeviceKernelsLearnsCartPole()
    {
        // Default A2C settings but 16 lanes; 60,000 steps take about 6 s on two cores. A uniformly random policy averages
        // about 22 on CartPole-v1; seeds 1-3 reached 64-79 here.
        var config = new A2cConfig { Env = "CartPole-v1", Lanes = new() { NumEnvs = 16 }, Seed = 1, MaxEnvSteps = 60_000, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var run = new RunContext(config, null, null);
        RunSummary summary = A2c.Train(config, run, new IlgpuComputeDevice(fixture.Device));
        Assert.Equal("ilgpu-cpu", summary.Device);
        Assert.Contains("ILGPU CPU accelerator", summary.DeviceName);
        Assert.Equal(60_000, summary.EnvSteps);
        Assert.Equal(60_000 / (16 * 5), summary.Updates);
        Assert.True(summary.Episodes > 300, $"{summary.Episodes} episodes");
        Assert.True(summary.FinalMeanReturn >= 50, $"mean return of the last 100 episodes {summary.FinalMeanReturn:F1}; a random policy gets about 22");
    }

    /// <summary><paramref name="updates"/> updates of <paramref name="stream"/> outside a trainer; theta after them.</summary>
    static float[] Updates(IlgpuA2cStream stream, A2cConfig config, int updates)
    {
        var run = new RunContext(config, null, null);
        for (int u = 0; u < updates; u++)
        {
            stream.Collect(run);
            stream.Learn(config.LearningRate, run);
        }
        return stream.Theta();
    }

    [Fact]
    public void ADeviceRunIsRepeatableForItsSeed()
    {
        // Every sum that feeds the parameters runs in a fixed order, so two runs of a seed end on the same theta.
        var config = new A2cConfig { Env = "CartPole-v1", Lanes = new() { NumEnvs = 12 }, Seed = 4, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        float[] Run(A2cConfig c)
        {
            using var stream = new IlgpuA2cStream(fixture.Device, device.Kernels, c);
            return Updates(stream, c, 60);
        }
        float[] first = Run(config), second = Run(config), otherSeed = Run(config with { Seed = 5 });
        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void TheRolloutsShapeChangesNothingButSpeed()
    {
        // Threads per lane split each layer's outputs, and theta may sit in shared memory; each output is still summed by
        // one thread in input order, so every shape ends on the same theta, bit for bit. The CPU accelerator's groups
        // hold 4 threads: 1, 2 and 4 threads per lane, with groups of 4, 2 and 1 lanes (13 lanes leave a group part-empty).
        var config = new A2cConfig { Env = "CartPole-v1", Lanes = new() { NumEnvs = 13 }, Seed = 8, Compute = new() { Device = DeviceKind.IlgpuCpu }, Hidden = [21, 13] };
        var device = new IlgpuComputeDevice(fixture.Device);
        Assert.Equal(4, device.Kernels.Group);
        float[] Run(int threadsPerLane, bool shared)
        {
            using var stream = new IlgpuA2cStream(fixture.Device, device.Kernels, config, Hybrid.Training.Algorithms.Acting.ActorCriticSpec(config), threadsPerLane, shared);
            return Updates(stream, config, 30);
        }
        float[] plain = Run(1, false);
        Assert.Equal(plain, Run(1, true));
        Assert.Equal(plain, Run(2, true));
        Assert.Equal(plain, Run(4, false));
        Assert.Equal(plain, Run(4, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => Run(3, false));
    }

    [Fact]
    public void TheDevicesSolveWindowStampsTheSolveAtTheUpdateThatReachedIt()
    {
        // A low threshold so that a short run crosses it. Draining every update (a metrics row per update) is the ground
        // truth; with the default log interval the host drains every 64 updates, and the device's window, checked each
        // update, makes it drain at the update that crossed, so the solve is stamped at the same step either way (without
        // the window, seed 3 was stamped at 12,800 steps instead of 8,040). The third run takes one atomic per warp.
        var config = new A2cConfig { Env = "CartPole-v1", Lanes = new() { NumEnvs = 8 }, Seed = 3, MaxEnvSteps = 40_000, SolveThreshold = 30, StopWhenSolved = true, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        RunSummary Run(A2cConfig c, bool aggregate)
        {
            fixture.Device.AggregateAtomics = aggregate;
            try
            {
                return A2c.Train(c, new RunContext(c, null, null), device);
            }
            finally
            {
                fixture.Device.AggregateAtomics = false;
            }
        }
        RunSummary everyUpdate = Run(config with { LogInterval = 40 }, aggregate: false);
        RunSummary byDefault = Run(config with { LogInterval = 100_000 }, aggregate: false);
        RunSummary aggregated = Run(config with { LogInterval = 100_000 }, aggregate: true);
        Assert.True(everyUpdate.Solved, "the ground-truth run did not reach 30");
        Assert.True(everyUpdate.SolvedAtEnvSteps > 40 * 100 / 8, $"solved at {everyUpdate.SolvedAtEnvSteps}: before 100 episodes could end");
        Assert.Equal(everyUpdate.SolvedAtEnvSteps, byDefault.SolvedAtEnvSteps);
        Assert.Equal(everyUpdate.SolvedAtEnvSteps, aggregated.SolvedAtEnvSteps);
        Assert.Equal(everyUpdate.Episodes, aggregated.Episodes);
    }

    [Theory]
    [InlineData(4_096, 270_336, 256, 32)]   // an H200: 132 multiprocessors of 2,048 threads
    [InlineData(65_536, 270_336, 256, 4)]
    [InlineData(1_048_576, 270_336, 256, 1)]
    [InlineData(4_096, 221_184, 256, 32)]   // an A100: 108 of 2,048
    [InlineData(16, 8, 4, 1)]               // the CPU accelerator: the lanes alone fill it
    [InlineData(1, 270_336, 4, 4)]          // never more than the group
    public void ThreadsPerLaneFillTheDeviceAtFewLanes(int lanes, long resident, int group, int expected)
    {
        Assert.Equal(expected, RolloutShape.ThreadsPerLane(lanes, resident, group));
    }

    [Fact]
    public void A2cOnMinAtarLearnsOnTheDevice()
    {
        // The composed rollout (MinAtar's game, the conv torso and the dense layers on the device) with A2C's defaults and
        // the MinAtar preset's learning rate and entropy bonus; 20,000 steps take about 30 s on two cores. A near-uniform
        // policy scores about 0.4 on Breakout (the first 4,000 steps here: 0.36, over some 400 episodes), and the mean of
        // 100 such episodes varies by about 0.06; the CPU path reaches 1.2-1.4 by 20,000 steps (seeds 1-3).
        var config = new A2cConfig { Env = "MinAtar/Breakout-v1", Seed = 1, MaxEnvSteps = 20_000, LearningRate = 0.002f, EntropyCoef = 0.01f,
            LogInterval = 4_000, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var sink = new Training.RecordingSink();
        RunSummary summary = A2c.Train(config, new RunContext(config, sink, null), new IlgpuComputeDevice(fixture.Device));
        Assert.Equal("ilgpu-cpu", summary.Device);
        Assert.Equal(20_000, summary.EnvSteps);
        MetricsRow first = sink.Rows[0];
        Assert.True(first.Episodes >= 200, $"{first.Episodes} episodes in the first 4,000 steps");
        Assert.True(first.MeanReturn100 < 0.6, $"the first 4,000 steps' last 100 episodes averaged {first.MeanReturn100:F2}; a near-uniform policy scores about 0.4");
        Assert.True(summary.FinalMeanReturn >= 0.9, $"the last 100 episodes averaged {summary.FinalMeanReturn:F2} after 20,000 steps (the first 4,000 steps: {first.MeanReturn100:F2})");
    }

    [Fact]
    public void TheComposedRolloutRecordsWhatTheCpuGameDoesUnderItsActions()
    {
        // Lane for lane: a CPU env seeded as the device's lanes, stepped with the actions the device sampled, shows the
        // observations the network read and gives the rewards, terminals and ended returns the rollout recorded.
        var config = new A2cConfig { Env = "MinAtar/SpaceInvaders-v1", Lanes = new() { NumEnvs = 5 }, Seed = 3, Hidden = [16], StickyActionProb = 0.3,
            Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        using var stream = new IlgpuA2cStream(fixture.Device, device.Kernels, config);
        var run = new RunContext(config, null, null);
        VectorEnv cpu = config.MakeEnv(5);
        cpu.Reset((ulong)config.Seed, 0);
        int n = 5, obs = cpu.ObservationSize, samples = n * config.TMax, ended = 0;
        var actions = new int[n];
        for (int u = 0; u < 30; u++)
        {
            stream.Collect(run);
            RolloutViews r = stream.RolloutBuffers;
            float[] inputs = IlgpuA2cStream.Read(stream.MinAtar!.Inputs), taken = IlgpuA2cStream.Read(r.Actions), rewards = IlgpuA2cStream.Read(r.Rewards);
            float[] discounts = IlgpuA2cStream.Read(r.Discounts), returns = IlgpuA2cStream.Read(r.Ended);
            for (int t = 0; t < config.TMax; t++)
            {
                for (int lane = 0; lane < n; lane++)
                {
                    int b = t * n + lane;
                    Assert.True(cpu.Observations.Slice(lane * obs, obs).SequenceEqual(inputs.AsSpan(b * obs, obs)), $"update {u}, step {t}, lane {lane}: observation");
                    actions[lane] = (int)taken[b];
                }
                cpu.Step(actions);
                for (int lane = 0; lane < n; lane++)
                {
                    int b = t * n + lane;
                    Assert.Equal(cpu.Rewards[lane], rewards[b]);
                    Assert.Equal(cpu.Terminated[lane], discounts[b] == 0f);
                    Assert.Equal(cpu.Terminated[lane] || cpu.Truncated[lane], !float.IsNaN(returns[b]));
                }
                foreach (EpisodeRecord e in cpu.Episodes.Records) Assert.Equal(e.Return, returns[t * n + e.Lane]);
                ended += cpu.Episodes.Records.Length;
                cpu.Episodes.Clear();
            }
            stream.Learn(config.LearningRate, run);
        }
        Assert.True(ended >= 5, $"{ended} episodes ended; the check should cross auto-resets");
    }

    [Theory]
    [InlineData("MinAtar/Breakout-v1")]
    [InlineData("MinAtar/Seaquest-v1")]
    public void AMinAtarDeviceRunIsRepeatableForItsSeedWhicheverKernelsSumIt(string env)
    {
        // The composed rollout keeps the fused one's promise: fixed-order sums, so a seed ends on the same theta. The
        // kernels a GPU runs (the gradient's tiles, the convolution's shared-memory forward pass, output deltas and
        // weight gradients) and those the CPU accelerator runs (the same sums without barriers) agree bit for bit, so
        // a GPU run is the same run. Seaquest's ten channels make smaller shared-memory tiles than Breakout's four.
        var config = new A2cConfig { Env = env, Lanes = new() { NumEnvs = 6 }, Seed = 4, Hidden = [24], Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        float[] Run(A2cConfig c, bool gpuKernels)
        {
            device.Kernels.FlatTiles = !gpuKernels;
            try
            {
                using var stream = new IlgpuA2cStream(fixture.Device, device.Kernels, c);
                Assert.False(stream.MinAtar!.Conv.Tiled);
                stream.MinAtar.Conv.Tiled = gpuKernels;
                return Updates(stream, c, 8);
            }
            finally
            {
                device.Kernels.FlatTiles = true;
            }
        }
        Assert.True(device.Kernels.FlatTiles);
        float[] first = Run(config, gpuKernels: false), second = Run(config, gpuKernels: false), onGpuKernels = Run(config, gpuKernels: true);
        float[] otherSeed = Run(config with { Seed = 5 }, gpuKernels: false);
        Assert.Equal(first, second);
        Assert.Equal(first, onGpuKernels);
        Assert.NotEqual(first, otherSeed);
    }

    public static TheoryData<string, int, int, int> ResumedRuns() => new()
    {
        { "CartPole-v1", 6_000, 1_800, 3_000 },
        // Breakout: the game state, last actions (sticky actions repeat them) and streams of the composed rollout's lanes.
        { "MinAtar/Breakout-v1", 1_200, 360, 600 },
    };

    [Theory]
    [MemberData(nameof(ResumedRuns))]
    public void ADeviceRunStoppedAndResumedEndsOnTheSameParameters(string env, int steps, int checkpointInterval, int stopAt)
    {
        // The device's checkpoint holds theta, RMSProp's statistics and the lanes' state and streams; the metrics it still
        // held are drained into the run first. Loss columns are summed atomically on the device and may differ in
        // their last digits; everything else agrees.
        var config = new A2cConfig { Env = env, Lanes = new() { NumEnvs = 12 }, Seed = 6, MaxEnvSteps = steps, LogInterval = steps / 6, CheckpointInterval = checkpointInterval,
            CheckpointSeconds = 0, Hidden = EnvRegistry.IsMinAtar(env) ? [24] : [], Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        (RunSummary Summary, Training.KeepingSink Sink) Run(CheckpointData? from, long stopAt = long.MaxValue)
        {
            var sink = new Training.KeepingSink { StopAt = stopAt };
            var run = new RunContext(config, sink, null, from);
            sink.Context = run;
            return (A2c.Train(config, run, device), sink);
        }
        (RunSummary whole, Training.KeepingSink wholeSink) = Run(null);
        (RunSummary stopped, Training.KeepingSink first) = Run(null, stopAt: stopAt);
        Assert.Equal("interrupted", stopped.Status);
        CheckpointData atStop = first.Checkpoints[^1];
        (RunSummary resumed, Training.KeepingSink second) = Run(atStop);

        Assert.Equal(wholeSink.Checkpoints[^1].Parameters, second.Checkpoints[^1].Parameters);
        Assert.Equal(wholeSink.Checkpoints[^1].OptimizerState[0].Values, second.Checkpoints[^1].OptimizerState[0].Values);
        Assert.Equal(wholeSink.Checkpoints[^1].Section("algorithm"), second.Checkpoints[^1].Section("algorithm"));
        long through = RunProgress.Of(atStop).LoggedThrough;
        static object Key(MetricsRow r) => (r.EnvSteps, r.Updates, r.Episodes, r.EpisodicReturn, r.MeanReturn100);
        Assert.Equal(wholeSink.Rows.Select(Key), first.Rows.Where(r => r.EnvSteps <= through).Concat(second.Rows).Select(Key));
        Assert.Equal(whole.Episodes, resumed.Episodes);
        Assert.Equal(whole.FinalMeanReturn, resumed.FinalMeanReturn);

        // A device checkpoint is not a CPU one: resuming it on the CPU is refused by name.
        var cpu = config with { Compute = new() { Device = DeviceKind.Cpu } };
        var e = Assert.Throws<InvalidDataException>(() => A2c.Train(cpu, new RunContext(cpu, null, null, atStop)));
        Assert.Contains("expected 'a2c on the CPU', found 'a2c on a device'", e.Message);
    }

    public static TheoryData<string> PredictorEnvs() => [.. DevicePredictorCheck.Standard];

    [Theory]
    [MemberData(nameof(PredictorEnvs))]
    public void TheDevicePredictorGivesTheCpuNetworksLogitsAndValues(string env)
    {
        // The same theta and observations through GA3C's predictor kernel and through the CPU network; MinAtar's
        // through the convolution kernel first.
        PredictorParity parity = DevicePredictorCheck.Run(new IlgpuComputeDevice(fixture.Device), env);
        Assert.True(parity.Passed, parity.ToJson());
        Assert.Equal(7, parity.Rows);
    }

    [Fact]
    public void Ga3cPredictsMinAtarThroughTheConvolutionOnTheDevice()
    {
        // The conv torso no longer sends GA3C's predictor to the CPU: a short Breakout run predicts on the device kernels.
        var config = new Ga3cConfig { Env = "MinAtar/Breakout-v1", Threads = 2, Seed = 2, MaxEnvSteps = 1_200, Segments = 1,
            Compute = new() { Device = DeviceKind.IlgpuCpu } };
        var device = new IlgpuComputeDevice(fixture.Device);
        Assert.Null(device.CannotRun(new DeviceWork.Policy(Acting.ActorCriticSpec(config))));
        RunSummary summary = Ga3c.Train(config, new RunContext(config, null, null), device);
        Assert.Equal("ilgpu-cpu", summary.Device);
        Assert.True(summary.Runtime!.Value.PredictionsPerSecond > 0);
        Assert.True(summary.Updates > 0);
    }

    [Fact]
    public void Ga3cPredictsOnTheDevice()
    {
        var config = new Ga3cConfig { Threads = 2, Seed = 2, MaxEnvSteps = 4_000, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        RunSummary summary = Ga3c.Train(config, new RunContext(config, null, null), new IlgpuComputeDevice(fixture.Device));
        Assert.Equal("ilgpu-cpu", summary.Device);
        Assert.True(summary.Runtime!.Value.PredictionsPerSecond > 0);
        Assert.InRange(summary.Runtime!.Value.PredictBatchMax, 1, 2);
        Assert.True(summary.Updates > 0);
    }

    [Fact]
    public void TheHybridRegimesSynchronousStreamRunsOnTheDevice()
    {
        // The stream takes theta from the host each update and hands back its gradient; both streams contribute updates.
        var config = new HybridConfig { Seed = 3, MaxEnvSteps = 6_000, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        RunSummary summary = HybridRegime.Train(config, new RunContext(config, null, null), new IlgpuComputeDevice(fixture.Device));
        Assert.Equal("ilgpu-cpu", summary.Device);
        RuntimeTelemetry runtime = summary.Runtime!.Value;
        Assert.True(runtime.SyncStepsPerSecond > 0 && runtime.AsyncStepsPerSecond > 0, $"{runtime}");
        Assert.InRange(runtime.SyncUpdateShare, 1e-6, 1 - 1e-6);
    }

    [Fact]
    public void AutoFallsBackToTheCpuWithOneLineWhenThereIsNoGpu()
    {
        if (IlgpuDevice.TryOpenCuda(out _) is IlgpuDevice gpu)
        {
            gpu.Dispose();
            return; // on a machine with an NVIDIA GPU, auto picks it: nothing to fall back from
        }
        var notes = new List<string>();
        IComputeDevice device = DeviceChoice.For(new GpuDevices(), new A2cConfig(), notes.Add)!;
        Assert.Same(CpuDevice.Instance, device);
        string note = Assert.Single(notes);
        Assert.Contains("training on the CPU", note);
        var e = Assert.Throws<ArgumentException>(() => new GpuDevices().Open(DeviceKind.Cuda, null));
        Assert.Contains("device 'cuda'", e.Message);
    }

    [Fact]
    public void DevicesRefuseWhatTheyCannotRunByName()
    {
        Assert.Contains("unknown", Assert.Throws<ArgumentException>(() => new GpuDevices().Open("tpu", null)).Message);
        Assert.Contains("GPU backend", Assert.Throws<ArgumentException>(() => CpuOnlyDevices.Instance.Open(DeviceKind.IlgpuCpu, null)).Message);
        var device = new IlgpuComputeDevice(fixture.Device);
        // MinAtar opens (the composed rollout); what the device path lacks is refused on MinAtar as elsewhere.
        using (ISyncStream minAtar = device.OpenA2c(new A2cConfig { Env = "MinAtar/Breakout-v0", Lanes = new() { NumEnvs = 2 }, Hidden = [8] })) Assert.Equal(1, minAtar.Threads);
        var e = Assert.Throws<ArgumentException>(() => device.OpenA2c(new A2cConfig { Env = "MinAtar/Breakout-v0", RmsEpsilonOutside = true }));
        Assert.Contains("rms_epsilon_outside", e.Message);
        Assert.Contains("--device cpu", e.Message);
        e = Assert.Throws<ArgumentException>(() => device.OpenA2c(new A2cConfig { NormalizeObservations = true }));
        Assert.Contains("normalize_observations", e.Message);
        // Too many samples for the kernels' 32-bit indices; a machine with under about 40 GiB of memory refuses the run
        // for its memory first (the CPU path's estimate), which is as clear.
        e = Assert.Throws<ArgumentException>(() => device.OpenA2c(new A2cConfig { Lanes = new() { NumEnvs = 4_000_000 } }));
        Assert.Contains(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes > 40L << 30 ? "too many samples per update" : "GiB", e.Message);
        e = Assert.Throws<ArgumentException>(() => Hybrid.Training.Config.ConfigBinder.Apply(new A2cConfig(), [("device", "gpu", "--device")]));
        Assert.Contains("device 'gpu' is not valid: expected one of auto, cpu, cuda, ilgpu-cpu.", e.Message);
    }

    [Fact]
    public void AutoGivesWayToTheCpuWhenTheGpuCannotRunTheConfigButANamedDeviceDoesNot()
    {
        // A provider whose GPU is the device kernels (as a GPU machine's would be), counting what is opened on it.
        var gpu = new CountingDevice(new IlgpuComputeDevice(fixture.Device));
        var provider = new FixedDevices(gpu);
        var notes = new List<string>();
        var normalized = new A2cConfig { Env = "CartPole-v1", NormalizeObservations = true };
        Assert.Same(CpuDevice.Instance, DeviceChoice.For(provider, normalized, notes.Add));
        Assert.Contains("training on the CPU", Assert.Single(notes));
        Assert.Contains("normalize_observations", notes[0]);
        Assert.Same(gpu, DeviceChoice.For(provider, new A2cConfig { Env = "Acrobot-v1" }, notes.Add));
        var e = Assert.Throws<ArgumentException>(() => DeviceChoice.For(provider, normalized with { Compute = new() { Device = DeviceKind.IlgpuCpu } }, null));
        Assert.Contains("normalize_observations", e.Message);
        // The choice asks the device; it opens nothing on trial.
        Assert.Equal(0, gpu.Opened);
    }

    [Fact]
    public void TheCapabilityQueryRefusesWhatTheDeviceCannotOpen()
    {
        // Each refusal the query gives is the one opening would give: the same checks, asked without opening anything.
        var device = new IlgpuComputeDevice(fixture.Device);
        var separate = new A2cConfig { Env = "CartPole-v1", SeparateNetworks = true };
        string? why = device.CannotRun(new DeviceWork.A2cStream(separate));
        Assert.Contains("separate_networks", why);
        Assert.Equal(why, Assert.Throws<ArgumentException>(() => device.OpenA2c(separate)).Message);
        var gaussian = Acting.ActorCriticSpec(new A2cConfig { Env = "Pendulum-v1" });
        Assert.Contains("categorical", device.CannotRun(new DeviceWork.Policy(gaussian)));
        var onPolicy = new LearnerShape(5, 1, 2, 0.5f, 0.01f, 0f, 0f);
        Assert.Contains("V-trace", device.CannotRun(new DeviceWork.Learner(Acting.ActorCriticSpec(new A2cConfig()), onPolicy)));
        Assert.Null(device.CannotRun(new DeviceWork.A2cStream(new A2cConfig { Env = "Acrobot-v1" })));
    }

    /// <summary>A provider whose GPU (and every named device but the CPU) is the given device.</summary>
    internal sealed class FixedDevices(IComputeDevice device) : IDeviceProvider
    {
        public IComputeDevice Open(DeviceKind kind, Action<string>? note) => kind == DeviceKind.Cpu ? CpuDevice.Instance : device;

        public IComputeDevice? TryOpenGpu(Action<string>? note, out string missing)
        {
            missing = "";
            return device;
        }
    }

    /// <summary>A device that counts the streams, learners and policies opened on it.</summary>
    internal sealed class CountingDevice(IComputeDevice inner) : IComputeDevice
    {
        public int Opened { get; private set; }

        public DeviceInfo Info => inner.Info;

        public ISyncStream OpenA2c(A2cConfig config)
        {
            Opened++;
            return inner.OpenA2c(config);
        }

        public IBatchPolicy OpenPolicy(Hybrid.Nn.Models.ModelSpec spec, int maxRows)
        {
            Opened++;
            return inner.OpenPolicy(spec, maxRows);
        }

        public IUnrollLearner OpenLearner(Hybrid.Nn.Models.ModelSpec spec, LearnerShape shape)
        {
            Opened++;
            return inner.OpenLearner(spec, shape);
        }

        public string? CannotRun(DeviceWork work) => inner.CannotRun(work);
    }
}
