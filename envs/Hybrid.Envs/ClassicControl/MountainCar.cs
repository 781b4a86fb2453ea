using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// MountainCar-v0 as in Gymnasium 0.29.1 (<c>mountain_car.py</c>, Moore 1990): push left (0), none (1) or right (2);
/// reward -1 per step; terminated when position &gt;= 0.5 with velocity &gt;= 0; truncated at 200 steps.
/// State: position (reset uniform on [-0.6, -0.4]) and velocity (reset 0); the observation is the state.
/// </summary>
public readonly struct MountainCar : IVectorDynamics<MountainCar>
{
    // Constants of Gymnasium's MountainCarEnv.__init__.
    const float MinPosition = -1.2f, MaxPosition = 0.6f, MaxSpeed = 0.07f, GoalPosition = 0.5f, GoalVelocity = 0f;
    const float Force = 0.001f, Gravity = 0.0025f;

    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = new(
        "MountainCar-v0",
        new BoxSpace([MinPosition, -MaxSpeed], [MaxPosition, MaxSpeed]),
        new DiscreteSpace(3),
        MaxEpisodeSteps: 200, RewardThreshold: -110, SolveThreshold: -110,
        ["position", "velocity"]);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L>
    {
        L position = s.Get<L>(0, lane), velocity = s.Get<L>(1, lane);
        (_, L cos) = LaneMath.SinCos(L.Create(3f) * position);
        velocity += (action - L.Create(1f)) * L.Create(Force) + cos * L.Create(-Gravity);
        (position, velocity) = MountainCarContinuous.Move(position, velocity, MinPosition, MaxPosition, MaxSpeed);
        s.Set(0, lane, position);
        s.Set(1, lane, velocity);
        reward = L.Create(-1f);
        return L.And(L.LessThanOrEqual(L.Create(GoalPosition), position), L.LessThanOrEqual(L.Create(GoalVelocity), velocity));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> =>
        MountainCarContinuous.Observe<L>(s, lane, ref rows);

    /// <summary>Position uniform on [-0.6, -0.4], velocity 0: the same as the continuous car.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L> =>
        MountainCarContinuous.Reset(s, lane, mask, random);
}
