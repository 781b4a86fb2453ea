using Hybrid.Envs.Checking;
using Hybrid.Envs.MinAtar;
using Hybrid.Envs.MinAtar.Games;

namespace Hybrid.Tests.Envs.MinAtar;

/// <summary>The reference's random primitives and every conformance episode (RULES.md sections 2 and 9).</summary>
public class MinAtarConformanceTests
{
    static string ConformanceFile => EnvTestSupport.MinAtarReferenceFile("conformance_vectors.csv");

    [Fact]
    public void Mt19937MatchesNumpyRawOutputs()
    {
        var mt = new Mt19937(0);
        Assert.Equal([2357136044u, 2546248239u, 3071714933u], new[] { mt.Next(), mt.Next(), mt.Next() });
    }

    [Fact]
    public void UniformAndBoundedIntegersMatchNumpy()
    {
        uint unused = 0;
        var rng = new LaneRng(ref unused, 1, new Mt19937(0));
        Assert.Equal(0.5488135039273248, rng.Uniform());
        rng = new LaneRng(ref unused, 1, new Mt19937(0));
        var ints = new int[8];
        for (int i = 0; i < 8; i++) ints[i] = rng.Int(1, 6);
        Assert.Equal([5, 1, 4, 4, 4, 2, 4, 3], ints);
        // A one-value range consumes nothing.
        var a = new LaneRng(ref unused, 1, new Mt19937(5));
        Assert.Equal(3, a.Int(3, 4));
        Assert.Equal(new Mt19937(5).Next(), a.Next());
    }

    [Theory]
    [InlineData(0u, new[] { -5, 1, 4, -4, 4, 2, 4, 3 })]
    [InlineData(1u, new[] { -4, -5, -1, 2, -4, 1, -1, 2 })]
    public void FreewayCarsAfterReferenceSeedMatch(uint seed, int[] velocities)
    {
        var env = new MinAtarEnv<Freeway>(1);
        env.Reset(0);
        env.ResetLaneLikeReference(0, seed);
        var got = new int[8];
        for (int i = 0; i < 8; i++) got[i] = env.State(0).Velocity(i);
        Assert.Equal(velocities, got);
    }

    [Theory]
    [InlineData("asterix")]
    [InlineData("breakout")]
    [InlineData("freeway")]
    [InlineData("seaquest")]
    [InlineData("space_invaders")]
    public void EveryConformanceRowMatches(string game)
    {
        var rows = MinAtarConformance.Read(ConformanceFile).Where(r => r.Game == game).ToArray();
        Assert.Equal(10, rows.Length);
        var failures = MinAtarConformance.Run(MinAtarGames.Find(game), rows).Where(o => !o.Matches)
            .Select(o => $"seed {o.Expected.Seed}: return {o.Return}/{o.Expected.Return} length {o.Length}/{o.Expected.Length} checksum {o.Checksum}/{o.Expected.Checksum}");
        Assert.Empty(failures);
    }
}
