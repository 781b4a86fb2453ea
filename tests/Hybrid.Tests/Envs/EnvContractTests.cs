using System.Runtime.CompilerServices;
using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Envs.ClassicControl;
using Hybrid.Envs.Simd;

namespace Hybrid.Tests.Envs;

public class EnvContractTests
{
    public static TheoryData<string> EnvIds() => new(EnvRegistry.Names);

    public static TheoryData<string, LaneWidth> EnvsAndWidths()
    {
        var data = new TheoryData<string, LaneWidth>();
        foreach (string id in EnvRegistry.Names)
        {
            if (EnvRegistry.IsMinAtar(id)) continue; // no reference transitions: MinAtar has conformance episodes instead
            data.Add(id, LaneWidth.Scalar);
            if (Lane8.IsHardwareAccelerated) data.Add(id, LaneWidth.Vector256);
            if (Lane16.IsHardwareAccelerated) data.Add(id, LaneWidth.Vector512);
        }
        return data;
    }

    [Theory]
    // Time limits and reward thresholds of Gymnasium 0.29.1's registrations (gymnasium/envs/__init__.py);
    // Pendulum has no threshold there and -200 by Hybrid's convention (docs/architecture.md, "Solved").
    [InlineData("CartPole-v1", 4, "Discrete(2)", 500, 475.0, 475.0)]
    [InlineData("Acrobot-v1", 6, "Discrete(3)", 500, -100.0, -100.0)]
    [InlineData("MountainCar-v0", 2, "Discrete(3)", 200, -110.0, -110.0)]
    [InlineData("MountainCarContinuous-v0", 2, "Box([-1], [1], float32)", 999, 90.0, 90.0)]
    [InlineData("Pendulum-v1", 3, "Box([-2], [2], float32)", 200, null, -200.0)]
    public void RegistryHasGymnasiumsSpaces_LimitsAndThresholds(string id, int obsSize, string actions, int maxSteps, double? threshold, double solve)
    {
        EnvSpec spec = EnvRegistry.Spec(id);
        Assert.Equal(obsSize, spec.ObservationSize);
        Assert.Equal(actions, spec.ActionSpace.ToString());
        Assert.Equal(maxSteps, spec.MaxEpisodeSteps);
        Assert.Equal(threshold, spec.RewardThreshold);
        Assert.Equal(solve, spec.SolveThreshold);
    }

    [Theory]
    [MemberData(nameof(EnvIds))]
    public void CheckerPassesEveryRegisteredEnv(string id) => Assert.Empty(EnvChecker.Check(id));

    [Fact]
    public void CheckerCatchesObservationsOutsideTheirBounds()
    {
        IReadOnlyList<string> problems = EnvChecker.Check(n => new VectorEnv<LooseCartPole>(n), n => new VectorEnv<LooseCartPole>(n, LaneWidth.Scalar));
        Assert.Contains(problems, p => p.Contains("observation element 0") && p.Contains("expected within"));
    }

    [Fact]
    public void CheckerCatchesAnEnvThatIgnoresItsSeed()
    {
        IReadOnlyList<string> problems = EnvChecker.Check(n => new VectorEnv<ForgetfulCartPole>(n), n => new VectorEnv<ForgetfulCartPole>(n, LaneWidth.Scalar));
        Assert.Contains(problems, p => p.Contains("differ"));
    }

    [Theory]
    [MemberData(nameof(EnvsAndWidths))]
    public void ReferenceTransitionsMatchGymnasiumAtEveryWidth(string id, LaneWidth width)
    {
        string file = EnvTestSupport.ReferenceFile(id);
        ReferenceCheckResult result = ReferenceCheck.Run(id, file, width);
        Assert.True(result.Passed, ReferenceCheck.Format(result));
        Assert.Equal(File.ReadLines(file).Count() - 1, result.Rows);
        Assert.Equal(width.ToString(), result.SteppedOn);
    }

    [Fact]
    public void ReferenceCheckFailsWhenOneValueIsOff()
    {
        string[] lines = File.ReadAllLines(EnvTestSupport.ReferenceFile("CartPole-v1"));
        string[] header = lines[0].Split(',');
        int column = Array.IndexOf(header, "next_s2");
        string[] row = lines[10].Split(',');
        row[column] = (double.Parse(row[column], System.Globalization.CultureInfo.InvariantCulture) + 2e-3).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        lines[10] = string.Join(',', row);
        string path = Path.Combine(Path.GetTempPath(), $"hybrid-ref-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, lines);
        try
        {
            ReferenceCheckResult result = ReferenceCheck.Run("CartPole-v1", path);
            Assert.False(result.Passed);
            Assert.Equal(1, result.Quantities.Single(q => q.Name == "next state").Failures);
            Assert.Contains(result.FirstFailures, f => f.Contains("line 11") && f.Contains("theta"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReferenceCheckRejectsAnotherEnvsFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => ReferenceCheck.Run("CartPole-v1", EnvTestSupport.ReferenceFile("Pendulum-v1")));
        Assert.Contains("CartPole-v1", e.Message);
    }

    [Fact]
    public void TerminatedAndTruncatedStayApartAndTheFinalObservationSurvivesTheReset()
    {
        var env = new VectorEnv<CartPole>(3);
        env.Reset(1);
        env.SetState(0, [2.39, 2.0, 0.0, 0.0], 10);    // leaves the track: terminated
        env.SetState(1, [0.0, 0.0, 0.0, 0.0], 499);    // the 500th step: truncated only
        env.Step([1, 1, 1]);

        Assert.Equal([true, false, false], env.Terminated.ToArray());
        Assert.Equal([false, true, false], env.Truncated.ToArray());
        Assert.True(env.FinalObservations[0] > 2.4f, "the final observation is the one past the edge");
        for (int v = 0; v < 4; v++) Assert.InRange(env.Observations[v], -0.05f, 0.05f); // the new episode's first
        Assert.Equal(0f, env.FinalObservations[4]);
        Assert.Equal(0, env.ElapsedSteps(0));
        Assert.Equal(1, env.ElapsedSteps(2));
        Assert.Equal(
            [new EpisodeRecord(0, 1f, 11, Terminated: true), new EpisodeRecord(1, 1f, 500, Terminated: false)],
            env.Episodes.Records.ToArray());
    }

    [Fact]
    public void BothFlagsAreSetWhenTheLastAllowedStepAlsoTerminates()
    {
        var env = new VectorEnv<CartPole>(1);
        env.Reset(1);
        env.SetState(0, [2.39, 2.0, 0.0, 0.0], 499);
        env.Step([1]);
        Assert.True(env.Terminated[0]);
        Assert.True(env.Truncated[0]); // Gymnasium's TimeLimit truncates regardless
        Assert.True(env.Episodes.Records[0].Terminated);
    }

    [Theory]
    [MemberData(nameof(EnvIds))]
    public void LaneTrajectoriesDoNotDependOnLaneCountOrWidth(string id)
    {
        const int Steps = 60, Widest = 40;
        VectorEnv reference = EnvRegistry.Make(id, Widest, LaneWidth.Scalar);
        reference.Reset(5);
        var expected = new List<float[]>();
        for (int s = 0; s < Steps; s++)
        {
            EnvTestSupport.Step(reference, s);
            expected.Add(reference.Observations.ToArray());
        }
        foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 33, 40 })
        {
            VectorEnv env = EnvRegistry.Make(id, n);
            env.Reset(5);
            for (int s = 0; s < Steps; s++)
            {
                EnvTestSupport.Step(env, s);
                Assert.True(env.Observations.SequenceEqual(expected[s].AsSpan(0, n * env.ObservationSize)),
                    $"{id}: N = {n} at {env.Width} differs from the scalar lanes at step {s}");
            }
        }
    }

    [Theory]
    [InlineData("CartPole-v1", 256)]
    [InlineData("Pendulum-v1", 256)]
    [InlineData("Acrobot-v1", 1)]
    public void SteppingAllocatesNothing(string id, int n)
    {
        VectorEnv env = EnvRegistry.Make(id, n);
        env.Reset(3);
        var discrete = new int[n];
        var continuous = new float[n];
        for (int i = 0; i < n; i++) discrete[i] = i % 2;
        void Run(int steps)
        {
            for (int s = 0; s < steps; s++)
            {
                if (env.Spec.IsDiscrete) env.Step(discrete);
                else env.Step(continuous);
                env.Episodes.Clear();
            }
        }
        Run(600); // warm-up: tiered compilation, and episodes end and reset in every lane
        // Three windows of 600 steps (AllocationProbe: the runtime's one-off work lands in one at most).
        Assert.Equal(0, AllocationProbe.FewestBytes(() => Run(600)));
    }

    [Theory]
    // Gymnasium 0.29.1's reset distributions: low and high per state variable.
    [InlineData("CartPole-v1", new[] { -0.05, -0.05, -0.05, -0.05 }, new[] { 0.05, 0.05, 0.05, 0.05 })]
    [InlineData("Acrobot-v1", new[] { -0.1, -0.1, -0.1, -0.1 }, new[] { 0.1, 0.1, 0.1, 0.1 })]
    [InlineData("MountainCar-v0", new[] { -0.6, 0.0 }, new[] { -0.4, 0.0 })]
    [InlineData("MountainCarContinuous-v0", new[] { -0.6, 0.0 }, new[] { -0.4, 0.0 })]
    [InlineData("Pendulum-v1", new[] { -Math.PI, -1.0 }, new[] { Math.PI, 1.0 })]
    public void ResetDrawsFromGymnasiumsDistributions(string id, double[] low, double[] high)
    {
        const int N = 4096;
        VectorEnv env = EnvRegistry.Make(id, N);
        env.Reset(11);
        var state = new double[low.Length];
        var min = Enumerable.Repeat(double.MaxValue, low.Length).ToArray();
        var max = Enumerable.Repeat(double.MinValue, low.Length).ToArray();
        var sum = new double[low.Length];
        for (int i = 0; i < N; i++)
        {
            env.GetState(i, state);
            for (int v = 0; v < state.Length; v++)
            {
                min[v] = Math.Min(min[v], state[v]);
                max[v] = Math.Max(max[v], state[v]);
                sum[v] += state[v];
            }
        }
        for (int v = 0; v < low.Length; v++)
        {
            double width = high[v] - low[v], tolerance = 1e-6 + 1e-7 * Math.Abs(high[v]);
            Assert.InRange(min[v], low[v] - tolerance, low[v] + 0.01 * width + tolerance);
            Assert.InRange(max[v], high[v] - 0.01 * width - tolerance, high[v] + tolerance);
            // The mean of 4096 uniforms is within 5 standard errors (width / sqrt(12 N)) of the middle.
            Assert.InRange(sum[v] / N, (low[v] + high[v]) / 2 - 5 * width / Math.Sqrt(12.0 * N) - tolerance, (low[v] + high[v]) / 2 + 5 * width / Math.Sqrt(12.0 * N) + tolerance);
        }
    }

    /// <summary>CartPole whose observation of x is 100 times too large: the checker must see it leave its bounds.</summary>
    readonly struct LooseCartPole : IVectorDynamics<LooseCartPole>
    {
        public static EnvSpec Spec => CartPole.Spec;
        public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L> => CartPole.Step(s, lane, action, out reward);
        public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> =>
            Rows.Write(ref rows, lane, s.Get<L>(0, lane) * L.Create(100f), s.Get<L>(1, lane), s.Get<L>(2, lane), s.Get<L>(3, lane));
        public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L> => CartPole.Reset(s, lane, mask, random);
    }

    /// <summary>CartPole whose resets ignore the seed (a shared counter): the checker must see two seeded runs differ.</summary>
    readonly struct ForgetfulCartPole : IVectorDynamics<ForgetfulCartPole>
    {
        static int s_calls;
        public static EnvSpec Spec => CartPole.Spec;
        public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L> => CartPole.Step(s, lane, action, out reward);
        public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> => CartPole.Observe<L>(s, lane, ref rows);
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>
        {
            float value = (Interlocked.Increment(ref s_calls) % 97) * 0.001f - 0.045f;
            for (int v = 0; v < 4; v++) s.SetWhere(v, lane, mask, L.Create(value));
        }
    }
}
