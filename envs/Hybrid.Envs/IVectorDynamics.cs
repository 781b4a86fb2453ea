using Hybrid.Envs.Simd;

namespace Hybrid.Envs;

/// <summary>
/// An environment's dynamics as static functions over lanes of a <see cref="StateView"/> (a state layout,
/// params and static Reset/Step). <see cref="VectorEnv{TDynamics}"/> owns the buffers, the time limit, auto-reset and
/// the episode log; a dynamics type only says how one group of lanes moves.
/// </summary>
public interface IVectorDynamics<TSelf> where TSelf : IVectorDynamics<TSelf>
{
    /// <summary>Name, spaces, time limit and thresholds.</summary>
    static abstract EnvSpec Spec { get; }

    /// <summary>
    /// Advances lanes <c>[lane, lane + L.Count)</c> by one step under <paramref name="action"/> (discrete actions as
    /// floats; continuous ones unclipped), writes their rewards and returns the mask of lanes that terminated.
    /// </summary>
    static abstract L Step<L>(StateView state, int lane, L action, out L reward) where L : unmanaged, ILanes<L>;

    /// <summary>
    /// Writes the observation rows of lanes <c>[lane, lane + L.Count)</c>: lane i's row at <c>rows[i * obsSize]</c>
    /// (<see cref="Rows.Write{L}(ref float, int, L, L)"/> and its overloads).
    /// </summary>
    static abstract void Observe<L>(StateView state, int lane, ref float rows) where L : unmanaged, ILanes<L>;

    /// <summary>
    /// Draws a new initial state, from Gymnasium's reset distribution, for the lanes of <c>[lane, lane + L.Count)</c>
    /// set in <paramref name="mask"/>, with draws from <paramref name="random"/>; other lanes keep their state.
    /// </summary>
    static abstract void Reset<L>(StateView state, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>;
}
