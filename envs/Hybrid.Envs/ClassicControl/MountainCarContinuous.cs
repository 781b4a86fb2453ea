using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// MountainCarContinuous-v0 as in Gymnasium 0.29.1 (<c>continuous_mountain_car.py</c>): one force in [-1, 1] (clipped)
/// times power 0.0015; reward 100 on reaching the goal minus 0.1 * action^2 per step; terminated when position
/// &gt;= 0.45 with velocity &gt;= 0; truncated at 999 steps. State: position (reset uniform on [-0.6, -0.4]) and
/// velocity (reset 0); the observation is the state.
/// </summary>
public readonly struct MountainCarContinuous : IVectorDynamics<MountainCarContinuous>
{
    // Constants of Gymnasium's Continuous_MountainCarEnv.__init__.
    const float MinAction = -1f, MaxAction = 1f, MinPosition = -1.2f, MaxPosition = 0.6f, MaxSpeed = 0.07f;
    const float GoalPosition = 0.45f, GoalVelocity = 0f, Power = 0.0015f;

    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = new(
        "MountainCarContinuous-v0",
        new BoxSpace([MinPosition, -MaxSpeed], [MaxPosition, MaxSpeed]),
        new BoxSpace([MinAction], [MaxAction]),
        MaxEpisodeSteps: 999, RewardThreshold: 90, SolveThreshold: 90,
        ["position", "velocity"]);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L>
    {
        L position = s.Get<L>(0, lane), velocity = s.Get<L>(1, lane);
        L force = LaneMath.Clamp(action, L.Create(MinAction), L.Create(MaxAction));
        (_, L cos) = LaneMath.SinCos(L.Create(3f) * position);
        velocity += force * L.Create(Power) - L.Create(0.0025f) * cos;
        (position, velocity) = Move(position, velocity, MinPosition, MaxPosition, MaxSpeed);
        s.Set(0, lane, position);
        s.Set(1, lane, velocity);
        L terminated = L.And(L.LessThanOrEqual(L.Create(GoalPosition), position), L.LessThanOrEqual(L.Create(GoalVelocity), velocity));
        // Gymnasium charges the unclipped action: reward -= action[0]^2 * 0.1 uses action, not force.
        reward = L.Select(terminated, L.Create(100f), L.Create(0f)) - action * action * L.Create(0.1f);
        return terminated;
    }

    /// <summary>
    /// The update both mountain cars share after the velocity change: clip the velocity, move, clip the position, and
    /// stop a car that hit the left wall while moving left (Gymnasium: <c>position == min_position and velocity &lt; 0</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (L Position, L Velocity) Move<L>(L position, L velocity, float minPosition, float maxPosition, float maxSpeed)
        where L : unmanaged, ILanes<L>
    {
        velocity = LaneMath.Clamp(velocity, L.Create(-maxSpeed), L.Create(maxSpeed));
        position = LaneMath.Clamp(position + velocity, L.Create(minPosition), L.Create(maxPosition));
        L stopped = L.And(L.Equal(position, L.Create(minPosition)), L.LessThan(velocity, L.Create(0f)));
        velocity = L.Select(stopped, L.Create(0f), velocity);
        return (position, velocity);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> =>
        Rows.Write(ref rows, lane, s.Get<L>(0, lane), s.Get<L>(1, lane));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>
    {
        s.Draw(0, lane, mask, random, -0.6f, -0.4f);
        s.SetWhere(1, lane, mask, L.Create(0f));
    }
}
