using System.Globalization;
using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Envs.MinAtar;
using Hybrid.Envs.MinAtar.Games;

namespace Hybrid.Tests.Envs.MinAtar;

public class MinAtarEnvTests
{
    public static TheoryData<string> Games() => new(MinAtarGames.All.Select(g => g.Name));

    [Theory]
    [InlineData("MinAtar/Asterix-v0", 4, 6)]
    [InlineData("MinAtar/Asterix-v1", 4, 5)]
    [InlineData("MinAtar/Breakout-v0", 4, 6)]
    [InlineData("MinAtar/Breakout-v1", 4, 3)]
    [InlineData("MinAtar/Freeway-v1", 7, 3)]
    [InlineData("MinAtar/Seaquest-v1", 10, 6)]
    [InlineData("MinAtar/SpaceInvaders-v0", 6, 6)]
    [InlineData("MinAtar/SpaceInvaders-v1", 6, 4)]
    public void RegisteredWithChannelFirstObservationsAndTheirActionSets(string id, int channels, int actions)
    {
        EnvSpec spec = EnvRegistry.Spec(id);
        Assert.Equal(channels * 100, spec.ObservationSize);
        Assert.Equal($"Discrete({actions})", spec.ActionSpace.ToString());
        var env = (MinAtarEnv)EnvRegistry.Make(id, 3);
        Assert.Equal(channels, env.Channels);
        Assert.Equal(0.1, env.Options.StickyActionProbability);
        Assert.True(env.Options.DifficultyRamping);
    }

    [Fact]
    public void MinimalActionsMapToTheGamesOwnIndices()
    {
        // Breakout-v1's action 2 is the game's "right" (3): with no sticky actions the paddle moves right each step.
        var env = (MinAtarEnv<Breakout>)EnvRegistry.Make("MinAtar/Breakout-v1", 1, Hybrid.Envs.Simd.LaneWidth.Auto, new MinAtarOptions(0, true));
        env.Reset(1);
        env.Step([2]);
        Assert.Equal(1f, env.Observations[0 * 100 + 9 * 10 + 5]); // paddle channel, row 9, column 5
        Assert.Equal(0f, env.Observations[0 * 100 + 9 * 10 + 4]);
    }

    [Fact]
    public void AlwaysStickyActionsRepeatTheFirstExecutedNoOp()
    {
        // With probability 1 every step executes the previous action, which starts as no-op: the paddle never moves.
        var sticky = new MinAtarEnv<Breakout>(1, options: new MinAtarOptions(1.0, true));
        sticky.Reset(2);
        for (int t = 0; t < 3; t++) sticky.Step([MinAtarAction.Right]);
        Assert.Equal(1f, sticky.Observations[94]);
    }

    [Theory]
    [InlineData("asterix")]
    [InlineData("seaquest")]
    public void DisablingRampingChangesOnlyEpisodesThatReachARamp(string game)
    {
        // The vectors were made with ramping on. Asterix ramps at step 102; Seaquest on a successful surfacing, so
        // for it only episodes with a return can be affected.
        ConformanceRow[] rows = MinAtarConformance.Read(EnvTestSupport.MinAtarReferenceFile("conformance_vectors.csv")).Where(r => r.Game == game).ToArray();
        ConformanceOutcome[] off = MinAtarConformance.Run(MinAtarGames.Find(game), rows, new MinAtarOptions(0.1, DifficultyRamping: false));
        foreach (ConformanceOutcome o in off)
            if (game == "asterix" ? o.Expected.Length <= 102 : o.Expected.Return == 0)
                Assert.True(o.Matches, $"seed {o.Expected.Seed} never reaches a ramp but changed");
        if (game == "asterix") Assert.Contains(off, o => !o.Matches);
    }

    [Fact]
    public void StickyProbabilityZeroChangesTheEpisodes()
    {
        // The sticky draw is consumed either way; only the repeats differ, so most long episodes change.
        ConformanceRow[] rows = MinAtarConformance.Read(EnvTestSupport.MinAtarReferenceFile("conformance_vectors.csv")).Where(r => r.Game == "space_invaders").ToArray();
        ConformanceOutcome[] outcomes = MinAtarConformance.Run(SpaceInvaders.Info, rows, new MinAtarOptions(0, true));
        Assert.True(outcomes.Count(o => !o.Matches) >= 5);
    }

    [Theory]
    [MemberData(nameof(Games))]
    public void ObservationsWrittenCellByCellEqualAFullRenderAfterEveryStep(string game)
    {
        const int N = 24;
        MinAtarEnv env = MinAtarGames.Make(game, N);
        env.Reset(9);
        var random = new Random(4);
        var actions = new int[N];
        var full = new float[env.ObservationSize];
        int episodes = 0;
        for (int t = 0; t < 600; t++)
        {
            for (int i = 0; i < N; i++) actions[i] = random.Next(6);
            env.Step(actions);
            episodes += env.Episodes.Count;
            env.Episodes.Clear();
            for (int i = 0; i < N; i++)
            {
                env.RenderLane(i, full);
                Assert.True(full.AsSpan().SequenceEqual(env.Observations.Slice(i * full.Length, full.Length)), $"{game}: lane {i} differs at step {t}");
            }
        }
        Assert.True(episodes > 0 || game == "freeway", "auto-resets were exercised");
    }

    [Theory]
    [MemberData(nameof(Games))]
    public void SteppingAllocatesNothing(string game)
    {
        const int N = 64;
        MinAtarEnv env = MinAtarGames.Make(game, N);
        env.Reset(3);
        env.ResetLaneLikeReference(5, 17); // a Mersenne Twister lane too
        var actions = new int[N];
        for (int i = 0; i < N; i++) actions[i] = i % 6;
        void Run(int steps)
        {
            for (int s = 0; s < steps; s++)
            {
                env.Step(actions);
                env.Episodes.Clear();
            }
        }
        Run(3000); // warm-up: tiered compilation, and every lane has ended and reset
        Assert.Equal(0, AllocationProbe.FewestBytes(() => Run(1000)));
    }

    [Fact]
    public void BadInputGetsTheClassicControlErrors()
    {
        VectorEnv env = EnvRegistry.Make("MinAtar/Breakout-v1", 2);
        Assert.Contains("before Reset", Assert.Throws<InvalidOperationException>(() => env.Step([0, 0])).Message);
        env.Reset(1);
        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => env.Step([0, 3]));
        Assert.Contains("MinAtar/Breakout-v1: the action for lane 1 was 3; expected an integer in [0, 3)", outside.Message);
        Assert.Contains("was -1", Assert.Throws<ArgumentOutOfRangeException>(() => env.Step([-1, 0])).Message);
        Assert.Contains("actions had 3 values; expected 2", Assert.Throws<ArgumentException>(() => env.Step([0, 0, 0])).Message);
        Assert.Contains("step it with int actions", Assert.Throws<InvalidOperationException>(() => env.Step(new float[2])).Message);
        Assert.Contains("no float state", Assert.Throws<NotSupportedException>(() => env.SetState(0, [], 0)).Message);
    }

    [Fact]
    public void BadSettingsAndLanesAreRejectedWithTheirValues()
    {
        Assert.Contains("sticky action probability was 1.5", Assert.Throws<ArgumentOutOfRangeException>(
            () => EnvRegistry.Make("MinAtar/Seaquest-v0", 1, Hybrid.Envs.Simd.LaneWidth.Auto, new MinAtarOptions(1.5))).Message);
        Assert.Contains("only MinAtar envs", Assert.Throws<ArgumentException>(
            () => EnvRegistry.Make("CartPole-v1", 1, Hybrid.Envs.Simd.LaneWidth.Auto, new MinAtarOptions())).Message);
        Assert.Contains("game was 'pong'", Assert.Throws<ArgumentException>(() => MinAtarGames.Make("pong", 1)).Message);
        MinAtarEnv env = MinAtarGames.Make("freeway", 2);
        Assert.Contains("before Reset", Assert.Throws<InvalidOperationException>(() => env.ResetLaneLikeReference(0, 1)).Message);
        env.Reset(1);
        Assert.Contains("lane was 2", Assert.Throws<ArgumentOutOfRangeException>(() => env.ResetLaneLikeReference(2, 1)).Message);
        Assert.Contains("destination had 5 floats", Assert.Throws<ArgumentException>(() => env.RenderLane(0, new float[5])).Message);
    }

    [Fact]
    public void ALaneSeededLikeTheReferenceKeepsItsStreamAcrossAutoResets()
    {
        // Two lanes with the same reference seed and actions stay identical through several episodes, and differ from a
        // lane on Hybrid's own stream.
        var env = new MinAtarEnv<Breakout>(3);
        env.Reset(1);
        env.ResetLaneLikeReference(0, 42);
        env.ResetLaneLikeReference(1, 42);
        int ends = 0;
        for (int t = 0; t < 400; t++)
        {
            env.Step([t % 3, t % 3, t % 3]);
            ends += env.Episodes.Records.ToArray().Count(e => e.Lane == 0);
            env.Episodes.Clear();
            Assert.True(env.Observations[..400].SequenceEqual(env.Observations[400..800]), $"step {t}");
        }
        Assert.True(ends >= 3);
        env.Reset(1); // back to Hybrid's streams: lanes 0 and 1 now differ in their draws
        bool differ = false;
        for (int t = 0; t < 400 && !differ; t++)
        {
            env.Step([0, 0, 0]);
            differ = !env.Observations[..400].SequenceEqual(env.Observations[400..800]);
        }
        Assert.True(differ);
    }

    /// <summary>
    /// Under a uniformly random policy (System.Random, all six actions, sticky 0.1, ramping on), the first episode of
    /// each of 3000 lanes has a mean return and length within 4 standard errors of the reference package's figures
    /// (random_policy_stats.csv, 3000 episodes). The standard error is that of the difference of the two means.
    /// </summary>
    [Theory]
    [MemberData(nameof(Games))]
    public void RandomPolicyReturnsAndLengthsMatchTheReference(string game)
    {
        const int N = 3000;
        string[] header = File.ReadLines(EnvTestSupport.MinAtarReferenceFile("random_policy_stats.csv")).First().Split(',');
        string[] row = File.ReadLines(EnvTestSupport.MinAtarReferenceFile("random_policy_stats.csv")).Single(l => l.StartsWith(game + ",", StringComparison.Ordinal)).Split(',');
        double Column(string name) => double.Parse(row[Array.IndexOf(header, name)], CultureInfo.InvariantCulture);
        int refEpisodes = (int)Column("episodes");

        MinAtarEnv env = MinAtarGames.Make(game, N);
        env.Reset(2026);
        var random = new Random(11);
        var actions = new int[N];
        var returns = new double[N];
        var lengths = new double[N];
        var done = new bool[N];
        int remaining = N;
        while (remaining > 0)
        {
            for (int i = 0; i < N; i++) actions[i] = random.Next(6);
            env.Step(actions);
            foreach (EpisodeRecord e in env.Episodes.Records)
            {
                if (done[e.Lane]) continue;
                done[e.Lane] = true;
                returns[e.Lane] = e.Return;
                lengths[e.Lane] = e.Length;
                remaining--;
            }
            env.Episodes.Clear();
        }
        static (double Mean, double Sem) Stats(double[] x)
        {
            double mean = x.Average(), variance = x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1);
            return (mean, Math.Sqrt(variance / x.Length));
        }
        var (meanReturn, semReturn) = Stats(returns);
        var (meanLength, semLength) = Stats(lengths);
        double seReturn = Math.Sqrt(semReturn * semReturn + Math.Pow(Column("std_return"), 2) / refEpisodes);
        double seLength = Math.Sqrt(semLength * semLength + Math.Pow(Column("std_length"), 2) / refEpisodes);
        Assert.True(Math.Abs(meanReturn - Column("mean_return")) <= 4 * seReturn,
            $"{game}: mean return {meanReturn:0.000} against {Column("mean_return")} (4 SE = {4 * seReturn:0.000})");
        Assert.True(Math.Abs(meanLength - Column("mean_length")) <= 4 * seLength,
            $"{game}: mean length {meanLength:0.00} against {Column("mean_length")} (4 SE = {4 * seLength:0.00})");
    }
}
