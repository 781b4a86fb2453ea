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
        string hint = "";
        foreach (var entry in s_entries)
            if (string.Equals(entry.Spec.Id, id, StringComparison.OrdinalIgnoreCase)) hint = $" Did you mean {entry.Spec.Id}?";
        throw new ArgumentException($"env was '{id}'; expected one of {string.Join(", ", Names)}.{hint}", nameof(id));
    }
}
