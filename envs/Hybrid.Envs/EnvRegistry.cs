using Hybrid.Envs.ClassicControl;
using Hybrid.Envs.MinAtar;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs;

/// <summary>Environments by name, as <c>gymnasium.make</c> knows them.</summary>
public static class EnvRegistry
{
    static readonly (EnvSpec Spec, Func<int, LaneWidth, MinAtarOptions?, VectorEnv> Make)[] s_entries = [.. ClassicControl(), .. MinAtar()];

    static IEnumerable<(EnvSpec, Func<int, LaneWidth, MinAtarOptions?, VectorEnv>)> ClassicControl()
    {
        yield return (CartPole.Spec, (n, w, _) => new VectorEnv<CartPole>(n, w));
        yield return (CartPoleNoVel.Spec, (n, w, _) => new VectorEnv<CartPoleNoVel>(n, w));
        yield return (Acrobot.Spec, (n, w, _) => new VectorEnv<Acrobot>(n, w));
        yield return (MountainCar.Spec, (n, w, _) => new VectorEnv<MountainCar>(n, w));
        yield return (MountainCarContinuous.Spec, (n, w, _) => new VectorEnv<MountainCarContinuous>(n, w));
        yield return (Pendulum.Spec, (n, w, _) => new VectorEnv<Pendulum>(n, w));
    }

    // MinAtar/<Game>-v0 takes all six actions, as the published results use; -v1 the game's minimal set.
    static IEnumerable<(EnvSpec, Func<int, LaneWidth, MinAtarOptions?, VectorEnv>)> MinAtar()
    {
        foreach (MinAtarGameInfo game in MinAtarGames.All)
            foreach (bool minimal in new[] { false, true })
                yield return (MinAtarEnv.MakeSpec(game, minimal), (n, w, o) => MinAtarGames.Make(game.Name, n, minimal, o, w));
    }

    /// <summary>Every registered name, in registration order.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(s_entries, e => e.Spec.Id);

    /// <summary>The spec registered as <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">No env has that name; the message lists the names there are.</exception>
    public static EnvSpec Spec(string id) => Find(id).Spec;

    /// <summary>
    /// A new env of <paramref name="numEnvs"/> lanes (exact, case-sensitive names as in Gymnasium). Call
    /// <see cref="VectorEnv.Reset(ulong)"/> before stepping it.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, numEnvs below 1, or a width the CPU does not accelerate.</exception>
    public static VectorEnv Make(string id, int numEnvs = 1, LaneWidth width = LaneWidth.Auto) => Find(id).Make(numEnvs, width, null);

    /// <summary>
    /// As <see cref="Make(string, int, LaneWidth)"/>, with the MinAtar wrapper's settings (sticky actions, difficulty
    /// ramping); null means the reference's defaults.
    /// </summary>
    /// <exception cref="ArgumentException">As above, settings given for an env that is not MinAtar, or a sticky
    /// probability outside [0, 1].</exception>
    public static VectorEnv Make(string id, int numEnvs, LaneWidth width, MinAtarOptions? minAtar)
    {
        var entry = Find(id);
        if (minAtar is not null && !IsMinAtar(id))
            throw new ArgumentException($"env was '{id}' with MinAtar settings ({minAtar}); only MinAtar envs take them.", nameof(minAtar));
        return entry.Make(numEnvs, width, minAtar);
    }

    /// <summary>Whether <paramref name="id"/> names a MinAtar env.</summary>
    public static bool IsMinAtar(string id) => id.StartsWith("MinAtar/", StringComparison.Ordinal);

    static (EnvSpec Spec, Func<int, LaneWidth, MinAtarOptions?, VectorEnv> Make) Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        foreach (var entry in s_entries)
            if (entry.Spec.Id == id) return entry;
        throw new ArgumentException(UnknownMessage(id, "env"), nameof(id));
    }

    /// <summary>
    /// "NAME was 'id'; expected one of ..." with a suggestion when a known name is close: the same but for case, or
    /// within a few edits (a typo, a dropped version suffix).
    /// </summary>
    public static string UnknownMessage(string id, string name)
    {
        ArgumentNullException.ThrowIfNull(id);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var entry in s_entries)
        {
            string known = entry.Spec.Id;
            int distance = string.Equals(known, id, StringComparison.OrdinalIgnoreCase) ? 0 : Edits(known.ToLowerInvariant(), id.ToLowerInvariant());
            if (distance < bestDistance) (best, bestDistance) = (known, distance);
        }
        string hint = best is not null && bestDistance <= Math.Max(2, id.Length / 4) ? $" Did you mean {best}?" : "";
        return $"{name} was '{id}'; expected one of {string.Join(", ", Names)}.{hint}";
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions).</summary>
    static int Edits(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
