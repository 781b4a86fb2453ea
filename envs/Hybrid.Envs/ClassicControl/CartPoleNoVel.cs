using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// CartPole-v1 with the two velocities (x_dot, theta_dot) removed from the observation, which is then x and theta: a
/// partially observed task, as rl-baselines3-zoo's CartPoleNoVel-v1 and sb3-contrib's recurrent-policy tests use it. A
/// policy that sees one observation cannot tell which way the pole is falling; one with memory can. The dynamics,
/// resets, time limit (500) and threshold (475) are <see cref="CartPole"/>'s.
/// </summary>
public readonly struct CartPoleNoVel : IVectorDynamics<CartPoleNoVel>
{
    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = CartPole.Spec with
    {
        Id = "CartPoleNoVel-v1",
        ObservationSpace = new BoxSpace([CartPole.Spec.ObservationSpace.Low[0], CartPole.Spec.ObservationSpace.Low[2]],
            [CartPole.Spec.ObservationSpace.High[0], CartPole.Spec.ObservationSpace.High[2]]),
    };

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L> =>
        CartPole.Step(s, lane, action, out reward);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> =>
        Rows.Write(ref rows, lane, s.Get<L>(0, lane), s.Get<L>(2, lane));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L> =>
        CartPole.Reset(s, lane, mask, random);
}
