using Hybrid.Envs.ClassicControl;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs;

/// <summary>Environments by name, as <c>gymnasium.make</c> knows them.</summary>
public static class EnvRegistry
{
    static readonly (EnvSpec Spec, Func<int, LaneWidth, VectorEnv> Make)[] s_entries =
    [
        (CartPole.Spec, (n, w) => new VectorEnv<CartPole>(n, w)),
        (Acrobot.Spec, (n, w) => new VectorEnv<Acrobot>(n, w)),
        (MountainCar.Spec, (n, w) => new VectorEnv<MountainCar>(n, w)),
        (MountainCarContinuous.Spec, (n, w) => new VectorEnv<MountainCarContinuous>(n, w)),
        (Pendulum.Spec, (n, w) => new VectorEnv<Pendulum>(n, w)),
    ];

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
    public static VectorEnv Make(string id, int numEnvs = 1, LaneWidth width = LaneWidth.Auto) => Find(id).Make(numEnvs, width);

    static (EnvSpec Spec, Func<int, LaneWidth, VectorEnv> Make) Find(string id)
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
