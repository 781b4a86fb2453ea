using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// Pendulum-v1 as in Gymnasium 0.29.1 (<c>pendulum.py</c>, g = 10): a torque in [-2, 2] (clipped); reward
/// <c>-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)</c> on the state before the step; never terminates;
/// truncated at 200 steps. State: theta (reset uniform on [-pi, pi]) and theta_dot (reset uniform on [-1, 1]).
/// Observation: cos theta, sin theta, theta_dot.
/// </summary>
public readonly struct Pendulum : IVectorDynamics<Pendulum>
{
    // Constants of Gymnasium's PendulumEnv.__init__ with its default g = 10.0.
    const float MaxSpeed = 8f, MaxTorque = 2f, Dt = 0.05f, G = 10f, M = 1f, L0 = 1f, Pi = MathF.PI;

    /// <summary>Gymnasium gives Pendulum no reward threshold; Hybrid counts -200 as solved (docs/architecture.md, "Solved").</summary>
    public const double ProjectSolveThreshold = -200;

    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = new(
        "Pendulum-v1",
        new BoxSpace([-1, -1, -MaxSpeed], [1, 1, MaxSpeed]),
        new BoxSpace([-MaxTorque], [MaxTorque]),
        MaxEpisodeSteps: 200, RewardThreshold: null, SolveThreshold: ProjectSolveThreshold,
        ["theta", "theta_dot"]);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L>
    {
        L theta = s.Get<L>(0, lane), thetaDot = s.Get<L>(1, lane);
        L u = LaneMath.Clamp(action, L.Create(-MaxTorque), L.Create(MaxTorque));
        // The reward depends on the state before the step, as in Gymnasium.
        L normalized = AngleNormalize(theta);
        reward = -(normalized * normalized + L.Create(0.1f) * thetaDot * thetaDot + L.Create(0.001f) * u * u);

        (L sin, _) = LaneMath.SinCos(theta);
        L newThetaDot = thetaDot + (L.Create(3 * G / (2 * L0)) * sin + L.Create(3f / (M * L0 * L0)) * u) * L.Create(Dt);
        newThetaDot = LaneMath.Clamp(newThetaDot, L.Create(-MaxSpeed), L.Create(MaxSpeed));
        s.Set(0, lane, theta + newThetaDot * L.Create(Dt));
        s.Set(1, lane, newThetaDot);
        return L.Create(0f);
    }

    /// <summary>Gymnasium's <c>((x + pi) % (2 pi)) - pi</c> with Python's floored modulo.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static L AngleNormalize<L>(L x) where L : unmanaged, ILanes<L>
    {
        L turn = L.Create(2 * Pi), shifted = x + L.Create(Pi);
        return shifted - turn * L.Floor(shifted / turn) - L.Create(Pi);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L>
    {
        (L sin, L cos) = LaneMath.SinCos(s.Get<L>(0, lane));
        Rows.Write(ref rows, lane, cos, sin, s.Get<L>(1, lane));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>
    {
        s.Draw(0, lane, mask, random, -Pi, Pi);
        s.Draw(1, lane, mask, random, -1f, 1f);
    }
}
