using System.Globalization;
using Hybrid.Envs.MinAtar;

namespace Hybrid.Envs.Checking;

/// <summary>One row of a MinAtar conformance file (RULES.md section 9).</summary>
/// <param name="Game">The reference's game name, e.g. <c>breakout</c>.</param>
/// <param name="Seed">The seed given to the reference wrapper.</param>
/// <param name="Return">The episode's return.</param>
/// <param name="Length">Its steps (at most <see cref="MinAtarConformance.StepCap"/>).</param>
/// <param name="Capped">Whether the cap ended it rather than a terminal state.</param>
/// <param name="Checksum">The observation checksum H.</param>
/// <param name="Line">The file line it came from (1-based), for messages.</param>
public sealed record ConformanceRow(string Game, uint Seed, long Return, int Length, bool Capped, uint Checksum, int Line);

/// <summary>What Hybrid produced for one conformance row.</summary>
public sealed record ConformanceOutcome(ConformanceRow Expected, long Return, int Length, bool Capped, uint Checksum)
{
    /// <summary>Whether return, length, cap flag and checksum all equal the row's.</summary>
    public bool Matches => Return == Expected.Return && Length == Expected.Length && Capped == Expected.Capped && Checksum == Expected.Checksum;
}

/// <summary>
/// Replays the episodes of a MinAtar conformance file (RULES.md section 9): for each row, a lane seeded like the
/// reference (<see cref="MinAtarEnv.ResetLaneLikeReference"/>) with default settings (sticky 0.1, ramping on) plays
/// the actions of the linear congruential rule <c>z_t = (1103515245 z_(t-1) + 12345) mod 2^31</c>, <c>z_0 = seed</c>,
/// <c>a_t = floor(z_t / 65536) mod 6</c> until terminal or 3000 steps, and its return, length and observation
/// checksum are compared with the row's.
/// </summary>
public static class MinAtarConformance
{
    /// <summary>Steps after which an episode is cut off (RULES.md section 9).</summary>
    public const int StepCap = 3000;

    static readonly string[] Header = ["game", "seed", "return", "length", "capped", "checksum"];

    /// <summary>Reads a conformance file.</summary>
    /// <exception cref="InvalidDataException">Wrong header or a malformed row; the message names the line.</exception>
    public static IReadOnlyList<ConformanceRow> Read(string path)
    {
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || !lines[0].Trim().Split(',').SequenceEqual(Header))
            throw new InvalidDataException($"{path}: the first line must be '{string.Join(",", Header)}'.");
        var rows = new List<ConformanceRow>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            string[] f = lines[i].Trim().Split(',');
            int line = i + 1;
            if (f.Length != Header.Length) throw new InvalidDataException($"{path}:{line}: expected {Header.Length} fields, found {f.Length}.");
            var c = CultureInfo.InvariantCulture;
            if (!uint.TryParse(f[1], c, out uint seed) || !long.TryParse(f[2], c, out long ret) || !int.TryParse(f[3], c, out int length)
                || f[4] is not ("0" or "1") || !uint.TryParse(f[5], c, out uint checksum) || length < 1 || length > StepCap)
                throw new InvalidDataException($"{path}:{line}: '{lines[i]}' is not game,seed(0..2^32-1),return,length(1..{StepCap}),capped(0/1),checksum(0..2^32-1).");
            rows.Add(new ConformanceRow(f[0], seed, ret, length, f[4] == "1", checksum, line));
        }
        return rows;
    }

    /// <summary>
    /// Replays every row of <paramref name="rows"/> for <paramref name="game"/> at once, one lane per row, under the
    /// reference's default settings unless <paramref name="options"/> says otherwise (the vectors assume the defaults).
    /// </summary>
    /// <exception cref="ArgumentException">A row is of another game.</exception>
    public static ConformanceOutcome[] Run(MinAtarGameInfo game, IReadOnlyList<ConformanceRow> rows, MinAtarOptions? options = null) =>
        Run(game, rows, n => MinAtarGames.Make(game.Name, n, options: options));

    /// <summary>
    /// Replays every row of <paramref name="rows"/> on the lanes <paramref name="make"/> gives (one lane per row): the
    /// CPU env's, or a device env's; the actions are those of the reference's -v0 set.
    /// </summary>
    /// <exception cref="ArgumentException">A row is of another game.</exception>
    public static ConformanceOutcome[] Run(MinAtarGameInfo game, IReadOnlyList<ConformanceRow> rows, Func<int, IReferenceLanes> make)
    {
        ArgumentNullException.ThrowIfNull(game);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (ConformanceRow row in rows)
            if (row.Game != game.Name) throw new ArgumentException($"rows: line {row.Line} is of game '{row.Game}'; expected '{game.Name}'.", nameof(rows));
        int n = rows.Count;
        if (n == 0) return [];
        ArgumentNullException.ThrowIfNull(make);
        IReferenceLanes env = make(n);
        env.Reset(0, 0);
        var z = new ulong[n];
        var checksum = new uint[n];
        var returns = new long[n];
        var lengths = new int[n];
        var done = new bool[n];
        var capped = new bool[n];
        var actions = new int[n];
        int obsSize = env.Spec.ObservationSize, channels = env.Channels, active = n;
        for (int i = 0; i < n; i++)
        {
            env.ResetLaneLikeReference(i, rows[i].Seed);
            z[i] = rows[i].Seed;
            checksum[i] = Sum(env.Observations.Slice(i * obsSize, obsSize), channels);
        }
        while (active > 0)
        {
            for (int i = 0; i < n; i++)
            {
                if (done[i]) continue;
                z[i] = (1103515245UL * z[i] + 12345) % (1UL << 31);
                actions[i] = (int)(z[i] / 65536 % 6);
            }
            env.Step(actions);
            if (env is VectorEnv cpu) cpu.Episodes.Clear();
            for (int i = 0; i < n; i++)
            {
                if (done[i]) continue;
                int reward = (int)env.Rewards[i];
                // On the terminal step the row has already been reset; the reference's state() is the final observation.
                ReadOnlySpan<float> obs = (env.Terminated[i] ? env.FinalObservations : env.Observations).Slice(i * obsSize, obsSize);
                checksum[i] = unchecked(31 * checksum[i] + Sum(obs, channels) + 7 * (uint)reward);
                returns[i] += reward;
                lengths[i]++;
                if (env.Terminated[i] || lengths[i] == StepCap)
                {
                    done[i] = true;
                    capped[i] = !env.Terminated[i];
                    active--;
                }
            }
        }
        var outcomes = new ConformanceOutcome[n];
        for (int i = 0; i < n; i++) outcomes[i] = new ConformanceOutcome(rows[i], returns[i], lengths[i], capped[i], checksum[i]);
        return outcomes;
    }

    /// <summary>S(obs) = sum over true entries of 1 + ch + C (x + 10 y) (RULES.md section 9), mod 2^32.</summary>
    public static uint Sum(ReadOnlySpan<float> observation, int channels)
    {
        uint sum = 0;
        for (int k = 0; k < observation.Length; k++)
        {
            if (observation[k] == 0) continue;
            int c = k / Grid.Cells, cell = k % Grid.Cells, y = cell / Grid.Side, x = cell % Grid.Side;
            sum += (uint)(1 + c + channels * (x + Grid.Side * y));
        }
        return sum;
    }
}
