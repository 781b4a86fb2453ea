using Hybrid.Nn;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Training;

/// <summary>Keeps rows and every checkpoint in memory; can ask the run to stop once a checkpoint at or past a step count is written.</summary>
internal sealed class KeepingSink : IMetricsSink
{
    public List<MetricsRow> Rows { get; } = [];
    public List<CheckpointData> Checkpoints { get; } = [];
    public RunSummary? Summary { get; private set; }
    public RunContext? Context { get; set; }
    public long StopAt { get; init; } = long.MaxValue;

    public void Write(in MetricsRow row) => Rows.Add(row);
    public void Complete(RunSummary summary) => Summary = summary;
    public bool KeepsCheckpoints => true;

    public void WriteCheckpoint(CheckpointData checkpoint)
    {
        // A copy through the file format, as a resumed run reads it.
        string file = Path.Combine(Path.GetTempPath(), $"hybrid-keep-{Guid.NewGuid():N}.bin");
        Checkpoint.Save(file, checkpoint);
        Checkpoints.Add(Checkpoint.Load(file));
        File.Delete(file);
        if (checkpoint.EnvSteps >= StopAt) Context!.Stop.Request();
    }
}

/// <summary>Runs stopped and resumed from their checkpoints.</summary>
public class ResumeTests
{
    static (RunSummary Summary, KeepingSink Sink) Run(AlgoConfig config, CheckpointData? from = null, long stopAt = long.MaxValue)
    {
        var sink = new KeepingSink { StopAt = stopAt };
        var run = new RunContext(config, sink, null, from);
        sink.Context = run;
        return (Trainer.Train(config, run), sink);
    }

    /// <summary>The rows a resumed run's folder holds: the first part's up to its checkpoint's last row, then the resumed part's.</summary>
    static List<MetricsRow> Joined(KeepingSink first, CheckpointData from, KeepingSink second)
    {
        long through = RunProgress.Of(from).LoggedThrough;
        return [.. first.Rows.Where(r => r.EnvSteps <= through), .. second.Rows];
    }

    static void AssertSameState(CheckpointData expected, CheckpointData actual)
    {
        Assert.Equal(expected.EnvSteps, actual.EnvSteps);
        Assert.Equal(expected.Updates, actual.Updates);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerState.Count, actual.OptimizerState.Count);
        for (int i = 0; i < expected.OptimizerState.Count; i++) Assert.Equal(expected.OptimizerState[i].Values, actual.OptimizerState[i].Values);
        // The algorithm's section holds every lane's env state and generator: the same bytes, the same future.
        Assert.Equal(expected.Section("algorithm"), actual.Section("algorithm"));
    }

    static void AssertSameRows(IReadOnlyList<MetricsRow> expected, IReadOnlyList<MetricsRow> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(TrainingTestSupport.WithoutTime(expected[i]), TrainingTestSupport.WithoutTime(actual[i]));
    }

    [Theory]
    [InlineData(ReplayKind.Uniform)]
    [InlineData(ReplayKind.Prioritized)]
    public void DqnStoppedAndResumedEndsBitIdenticalToTheUninterruptedRun(ReplayKind replay)
    {
        // The checkpoint holds theta, the target network, Adam's moments and step count, the lanes, both generators,
        // the pending n-step windows, the evaluator's seeds and the replay buffer (with its priorities). Two lanes and 3-step returns, so a
        // window is pending at the stop; greedy evaluations every 4,000 steps on both sides of it.
        DqnConfig config = ReplayTests.CartPole(5) with
        {
            Lanes = new() { NumEnvs = 2 }, NStep = 3, DoubleQ = true, Replay = replay, MaxEnvSteps = 12_000, StopWhenSolved = false, LogInterval = 2_000,
            CheckpointInterval = 3_000, CheckpointSeconds = 0, Evaluation = new() { EvalInterval = 4_000, EvalEpisodes = 10 },
        };
        AssertStoppedAndResumedIsTheWholeRun(config, stopAt: 6_000);
    }

    /// <summary>A run of <paramref name="config"/> stopped at <paramref name="stopAt"/> steps and resumed from that checkpoint gives the uninterrupted run's rows, episodes and final state.</summary>
    static void AssertStoppedAndResumedIsTheWholeRun(AlgoConfig config, long stopAt)
    {
        (RunSummary whole, KeepingSink wholeSink) = Run(config);
        (RunSummary stopped, KeepingSink first) = Run(config, stopAt: stopAt);
        Assert.Equal("interrupted", stopped.Status);
        CheckpointData atStop = first.Checkpoints[^1];
        (RunSummary resumed, KeepingSink second) = Run(config, atStop);
        Assert.Equal("finished", resumed.Status);
        AssertSameRows(wholeSink.Rows, Joined(first, atStop, second));
        Assert.Equal(whole.Episodes, resumed.Episodes);
        AssertSameState(wholeSink.Checkpoints[^1], second.Checkpoints[^1]);
    }

    [Theory]
    [InlineData(NoiseKind.OrnsteinUhlenbeck, ReplayKind.Uniform, false)]
    [InlineData(NoiseKind.Normal, ReplayKind.Prioritized, false)]
    [InlineData(NoiseKind.Normal, ReplayKind.Prioritized, true)]
    public void DdpgStoppedAndResumedEndsBitIdenticalToTheUninterruptedRun(NoiseKind noise, ReplayKind replay, bool d4pg)
    {
        // The checkpoint holds the actor and Adam's moments, the critic and its moments, both targets, each lane's noise,
        // the lanes, both generators, the pending 2-step windows, the evaluator's seeds and the replay. Two lanes, a stop
        // mid-episode (Pendulum's last 200 steps) with the noise processes running.
        DdpgConfig config = DdpgTests.Pendulum(5) with
        {
            Lanes = new() { NumEnvs = 2 }, NStep = 2, Noise = noise, Replay = replay, BatchSize = 16, LearningStarts = 500, MaxEnvSteps = 3_000,
            StopWhenSolved = false, LogInterval = 500, CheckpointInterval = 1_100, CheckpointSeconds = 0, Evaluation = new() { EvalInterval = 1_000, EvalEpisodes = 2 },
        };
        // D4PG: the same with its categorical critic (of 11 atoms) and its priorities from the cross-entropy.
        if (d4pg) config = new D4pgConfig { Atoms = 11, VMin = -1650f, VMax = 0f } with
        {
            Env = config.Env, Seed = config.Seed, Lanes = config.Lanes, NStep = config.NStep, Noise = config.Noise, Replay = config.Replay, BatchSize = config.BatchSize,
            LearningStarts = config.LearningStarts, MaxEnvSteps = config.MaxEnvSteps, StopWhenSolved = false, LogInterval = config.LogInterval,
            CheckpointInterval = config.CheckpointInterval, CheckpointSeconds = 0, Evaluation = config.Evaluation,
        };
        AssertStoppedAndResumedIsTheWholeRun(config, stopAt: 1_500);
    }

    [Fact]
    public void ApexResumesWithItsReplay()
    {
        // Ape-X's threads interleave, so a resume is not bit-identical; but the checkpoint carries the replay (taken under
        // its lock) and its priorities, so the resumed run's first row already holds the transitions of the first part.
        var config = new ApexConfig
        {
            Env = "CartPole-v1", Seed = 3, MaxEnvSteps = 16_000, LogInterval = 2_000, CheckpointInterval = 6_000, CheckpointSeconds = 0,
            Evaluation = new() { EvalInterval = 50_000, EvalEpisodes = 5 },
        };
        (RunSummary stopped, KeepingSink first) = Run(config, stopAt: 6_000);
        Assert.Equal("interrupted", stopped.Status);
        CheckpointData atStop = first.Checkpoints[^1];
        double held = first.Rows.Where(r => r.EnvSteps <= atStop.EnvSteps).Last().Runtime!.Value.ReplaySize;
        Assert.True(held > 3_000, $"the first part's replay held {held}");
        (RunSummary resumed, KeepingSink second) = Run(config, atStop);
        Assert.Equal("finished", resumed.Status);
        double after = second.Rows[0].Runtime!.Value.ReplaySize;
        Assert.True(after >= held, $"the resumed run's first row held {after} transitions; the first part ended with {held}");
    }

    [Fact]
    public void DynaQResumesWithItsReplayAndWorldModel()
    {
        // Dyna-Q's threads interleave, so a resume is not bit-identical; but the checkpoint holds theta, the target, the
        // shared world model and the replay, so the resumed run starts from the model its planning threads had trained.
        DynaQConfig config = (DynaQConfig)Hybrid.Training.Config.Presets.Resolve("dyna-q",
            [new Hybrid.Training.Config.SettingsLayer("the test's", [new Hybrid.Training.Config.Setting("env", "CartPole-v1", "test")])], usePreset: true).Config with
        {
            Seed = 4, MaxEnvSteps = 12_000, LogInterval = 2_000, CheckpointInterval = 6_000, CheckpointSeconds = 0,
            Evaluation = new() { EvalInterval = 50_000, EvalEpisodes = 5 },
        };
        (RunSummary stopped, KeepingSink first) = Run(config, stopAt: 6_000);
        Assert.Equal("interrupted", stopped.Status);
        CheckpointData atStop = first.Checkpoints[^1];
        (RunSummary resumed, KeepingSink second) = Run(config, atStop);
        Assert.Equal("finished", resumed.Status);
        Assert.Equal(1, resumed.Resumed);
        Assert.True(resumed.EnvSteps >= 12_000, $"{resumed.EnvSteps} steps");
        // The model went into the checkpoint trained, and the resumed planning threads began from it: their first row's
        // model loss (0.03 here) is far below the first part's first (0.20); a resume from a fresh model gave 0.12.
        double untrained = first.Rows.First(r => double.IsFinite(r.Runtime!.Value.ModelLoss)).Runtime!.Value.ModelLoss;
        double atResume = second.Rows.First(r => double.IsFinite(r.Runtime!.Value.ModelLoss)).Runtime!.Value.ModelLoss;
        Assert.True(atResume < untrained / 3, $"model loss {untrained:G3} in the first row, {atResume:G3} after the resume");
    }

    public static TheoryData<string> A2cRuns => ["CartPole-v1", "MinAtar/Breakout-v1", "CartPoleNoVel-v1"];

    [Theory]
    [MemberData(nameof(A2cRuns))]
    public void A2cStoppedAndResumedEndsBitIdenticalToTheUninterruptedRun(string env)
    {
        bool minAtar = env.StartsWith("MinAtar/", StringComparison.Ordinal), recurrent = env == "CartPoleNoVel-v1";
        // CartPole: two lane groups on two threads and both normalizations, so every kind of state is saved. MinAtar: the
        // game states, sticky actions and the conv network. CartPoleNoVel-v1 with an LSTM: the lanes' carried memory, mid-episode. Checkpoints every 3,000 steps, rows every 2,000: the stop
        // falls inside a log interval, whose partial sums the checkpoint must carry.
        var config = new A2cConfig
        {
            Env = env,
            Seed = 7,
            Lanes = new() { NumEnvs = minAtar ? 4 : 8 },
            Threads = minAtar ? 1 : 2,
            NormalizeObservations = !minAtar,
            NormalizeRewards = !minAtar,
            MaxEnvSteps = minAtar ? 8_000 : 20_000,
            LogInterval = 2_000,
            CheckpointInterval = 3_000,
            CheckpointSeconds = 0,
            Compute = new() { Device = DeviceKind.Cpu },
            Memory = new() { Recurrent = recurrent ? RecurrentKind.Lstm : RecurrentKind.None, LstmUnits = 8 },
        };
        (RunSummary whole, KeepingSink wholeSink) = Run(config);

        // Stopped as by Ctrl-C after the checkpoint past 6,000 steps (a final checkpoint is written at the stop) ...
        (RunSummary stopped, KeepingSink first) = Run(config, stopAt: 6_000);
        Assert.Equal("interrupted", stopped.Status);
        Assert.InRange(stopped.EnvSteps, 6_000, 6_100);
        CheckpointData atStop = first.Checkpoints[^1];
        Assert.Equal(stopped.EnvSteps, atStop.EnvSteps);

        // ... and resumed: the same rows (but for wall-clock time), episodes, returns and final state, bit for bit.
        (RunSummary resumed, KeepingSink second) = Run(config, atStop);
        Assert.Equal("finished", resumed.Status);
        Assert.Equal(1, resumed.Resumed);
        AssertSameRows(wholeSink.Rows, Joined(first, atStop, second));
        Assert.Equal(whole.Episodes, resumed.Episodes);
        Assert.Equal(whole.FinalMeanReturn, resumed.FinalMeanReturn);
        AssertSameState(wholeSink.Checkpoints[^1], second.Checkpoints[^1]);

        // A crash (kill -9) after the first periodic checkpoint: resumed from it, the rows the crash left after the
        // checkpoint are dropped and written again, the same.
        CheckpointData early = wholeSink.Checkpoints[0];
        Assert.InRange(early.EnvSteps, 3_000, 3_100);
        (_, KeepingSink fromEarly) = Run(config, early);
        AssertSameRows(wholeSink.Rows, Joined(wholeSink, early, fromEarly));
        AssertSameState(wholeSink.Checkpoints[^1], fromEarly.Checkpoints[^1]);
    }

    [Fact]
    public void A3cResumesFromTheCheckpointsParametersAndCounters()
    {
        var config = new A3cConfig { Seed = 3, Threads = 2, MaxEnvSteps = 20_000, LogInterval = 5_000, CheckpointSeconds = 0 };
        (RunSummary first, KeepingSink firstSink) = Run(config);
        CheckpointData saved = firstSink.Checkpoints[^1];
        Assert.Equal(first.EnvSteps, saved.EnvSteps);
        Assert.Equal(first.Updates, saved.Updates);

        // One more segment per worker: theta moves a little from the checkpoint's, far less than training moved it from
        // the initial parameters; the counters carry on from the checkpoint's.
        A3cConfig more = config with { MaxEnvSteps = saved.EnvSteps + 1 };
        (RunSummary resumed, KeepingSink sink) = Run(more, saved);
        float[] after = sink.Checkpoints[^1].Parameters, initial = Acting.InitialTheta(Acting.ActorCriticSpec(config).Build(), config.Seed);
        double moved = Distance(after, saved.Parameters), trained = Distance(initial, saved.Parameters);
        Assert.True(trained > 0 && moved < 0.05 * trained, $"theta moved {moved} from the checkpoint; training had moved it {trained} from the initial parameters");
        Assert.InRange(resumed.EnvSteps, saved.EnvSteps + 1, saved.EnvSteps + 2 * config.TMax);
        Assert.True(resumed.Updates > saved.Updates);
        Assert.True(resumed.Episodes >= first.Episodes);
        Assert.Equal(1, resumed.Resumed);
        Assert.NotEqual(saved.OptimizerState[0].Values, sink.Checkpoints[^1].OptimizerState[0].Values);

        // Resumed again for a longer budget it keeps learning from there: rows continue past the checkpoint.
        (RunSummary longer, KeepingSink longerSink) = Run(config with { MaxEnvSteps = 40_000 }, saved);
        Assert.True(longer.EnvSteps >= 40_000);
        Assert.All(longerSink.Rows, r => Assert.True(r.EnvSteps > saved.EnvSteps));
        Assert.True(longerSink.Rows[^1].Updates > saved.Updates);
        Assert.True(longer.Episodes > first.Episodes);
    }

    [Fact]
    public void ACheckpointFromAnotherRunIsRefusedByName()
    {
        var config = new A2cConfig { MaxEnvSteps = 2_000, CheckpointSeconds = 0, Compute = new() { Device = DeviceKind.Cpu } };
        (_, KeepingSink sink) = Run(config);
        var other = config with { Hidden = [32] };
        var e = Assert.Throws<InvalidDataException>(() => Run(other, sink.Checkpoints[^1]));
        Assert.Contains("model", e.Message);
        var a3c = new A3cConfig { MaxEnvSteps = 4_000 };
        e = Assert.Throws<InvalidDataException>(() => Run(a3c, sink.Checkpoints[^1]));
        Assert.Contains("expected 'a3c', found 'a2c on the CPU'", e.Message);
    }

    static double Distance(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)(a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(sum);
    }
}
