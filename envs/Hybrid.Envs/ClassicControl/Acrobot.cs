using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// Acrobot-v1 as in Gymnasium 0.29.1 (<c>acrobot.py</c>; Sutton 1996, dynamics from Sutton and Barto's book): torque
/// -1, 0 or +1 on the joint between two links; one RK4 step of dt = 0.2; angles wrapped to [-pi, pi], velocities
/// clipped to 4 pi and 9 pi; reward -1 per step and 0 on the terminating one; terminated when
/// <c>-cos(theta1) - cos(theta1 + theta2) &gt; 1</c>; truncated at 500 steps. State: theta1, theta2, dtheta1, dtheta2,
/// each reset uniform on [-0.1, 0.1]. Observation: cos, sin of both angles, then both velocities.
/// </summary>
public readonly struct Acrobot : IVectorDynamics<Acrobot>
{
    // Constants of Gymnasium's AcrobotEnv (book_or_nips = "book", torque_noise_max = 0).
    const float Dt = 0.2f, LinkLength1 = 1f, LinkMass1 = 1f, LinkMass2 = 1f, LinkCom1 = 0.5f, LinkCom2 = 0.5f, LinkMoi = 1f;
    const float Gravity = 9.8f, Pi = MathF.PI;
    const float MaxVel1 = 4 * Pi, MaxVel2 = 9 * Pi;

    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = new(
        "Acrobot-v1",
        new BoxSpace([-1, -1, -1, -1, -MaxVel1, -MaxVel2], [1, 1, 1, 1, MaxVel1, MaxVel2]),
        new DiscreteSpace(3),
        MaxEpisodeSteps: 500, RewardThreshold: -100, SolveThreshold: -100,
        ["theta1", "theta2", "dtheta1", "dtheta2"]);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L>
    {
        L theta1 = s.Get<L>(0, lane), theta2 = s.Get<L>(1, lane), dtheta1 = s.Get<L>(2, lane), dtheta2 = s.Get<L>(3, lane);
        L torque = action - L.Create(1f);

        // Gymnasium's rk4(_dsdt, s, [0, dt]): one classic Runge-Kutta step; the torque is held constant.
        L half = L.Create(Dt / 2), full = L.Create(Dt);
        (L a1, L a2) = Accelerations(theta1, theta2, dtheta1, dtheta2, torque);
        L t1 = theta1 + half * dtheta1, t2 = theta2 + half * dtheta2, v1 = dtheta1 + half * a1, v2 = dtheta2 + half * a2;
        (L b1, L b2) = Accelerations(t1, t2, v1, v2, torque);
        L u1 = theta1 + half * v1, u2 = theta2 + half * v2, w1 = dtheta1 + half * b1, w2 = dtheta2 + half * b2;
        (L c1, L c2) = Accelerations(u1, u2, w1, w2, torque);
        L x1 = theta1 + full * w1, x2 = theta2 + full * w2, y1 = dtheta1 + full * c1, y2 = dtheta2 + full * c2;
        (L d1, L d2) = Accelerations(x1, x2, y1, y2, torque);
        L sixth = L.Create(Dt / 6), two = L.Create(2f);
        theta1 += sixth * (dtheta1 + two * v1 + two * w1 + y1);
        theta2 += sixth * (dtheta2 + two * v2 + two * w2 + y2);
        dtheta1 += sixth * (a1 + two * b1 + two * c1 + d1);
        dtheta2 += sixth * (a2 + two * b2 + two * c2 + d2);

        theta1 = Wrap(theta1);
        theta2 = Wrap(theta2);
        dtheta1 = LaneMath.Clamp(dtheta1, L.Create(-MaxVel1), L.Create(MaxVel1));
        dtheta2 = LaneMath.Clamp(dtheta2, L.Create(-MaxVel2), L.Create(MaxVel2));
        s.Set(0, lane, theta1);
        s.Set(1, lane, theta2);
        s.Set(2, lane, dtheta1);
        s.Set(3, lane, dtheta2);

        // Terminal test on the new state: the free end above the bar by one link length.
        (_, L cos1) = LaneMath.SinCos(theta1);
        (_, L cos12) = LaneMath.SinCos(theta1 + theta2);
        L terminated = L.LessThan(L.Create(1f), -cos1 - cos12);
        reward = L.Select(terminated, L.Create(0f), L.Create(-1f));
        return terminated;
    }

    /// <summary>
    /// Gymnasium's <c>_dsdt</c> ("book" equations): the angular accelerations of both links.
    /// cos(theta1 + theta2 - pi/2) and cos(theta1 - pi/2) are written as the sines they equal.
    /// </summary>
    static (L Ddtheta1, L Ddtheta2) Accelerations<L>(L theta1, L theta2, L dtheta1, L dtheta2, L torque) where L : unmanaged, ILanes<L>
    {
        const float m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkCom1, lc2 = LinkCom2, i1 = LinkMoi, i2 = LinkMoi, g = Gravity;
        (L sin2, L cos2) = LaneMath.SinCos(theta2);
        (L sin12, _) = LaneMath.SinCos(theta1 + theta2);
        (L sin1, _) = LaneMath.SinCos(theta1);
        L d1 = L.Create(m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2) + i1 + i2) + L.Create(m2 * 2 * l1 * lc2) * cos2;
        L d2 = L.Create(m2 * lc2 * lc2 + i2) + L.Create(m2 * l1 * lc2) * cos2;
        L phi2 = L.Create(m2 * lc2 * g) * sin12;
        L phi1 = L.Create(-m2 * l1 * lc2) * dtheta2 * dtheta2 * sin2
            - L.Create(2 * m2 * l1 * lc2) * dtheta2 * dtheta1 * sin2
            + L.Create((m1 * lc1 + m2 * l1) * g) * sin1
            + phi2;
        L ddtheta2 = (torque + d2 / d1 * phi1 - L.Create(m2 * l1 * lc2) * dtheta1 * dtheta1 * sin2 - phi2)
            / (L.Create(m2 * lc2 * lc2 + i2) - d2 * d2 / d1);
        L ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        return (ddtheta1, ddtheta2);
    }

    /// <summary>
    /// Gymnasium's <c>wrap(x, -pi, pi)</c>: <c>while x &gt; pi: x -= 2 pi; while x &lt; -pi: x += 2 pi</c>, done as one
    /// subtraction of the loop's count of turns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static L Wrap<L>(L x) where L : unmanaged, ILanes<L>
    {
        L turn = L.Create(2 * Pi);
        L above = -L.Floor((L.Create(Pi) - x) / turn);  // ceil((x - pi) / 2pi): turns to remove when x > pi
        L below = -L.Floor((x + L.Create(Pi)) / turn);  // ceil((-pi - x) / 2pi): turns to add when x < -pi
        x = L.Select(L.LessThan(L.Create(Pi), x), x - above * turn, x);
        return L.Select(L.LessThan(x, L.Create(-Pi)), x + below * turn, x);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L>
    {
        (L sin1, L cos1) = LaneMath.SinCos(s.Get<L>(0, lane));
        (L sin2, L cos2) = LaneMath.SinCos(s.Get<L>(1, lane));
        Rows.Write(ref rows, lane, cos1, sin1, cos2, sin2, s.Get<L>(2, lane), s.Get<L>(3, lane));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>
    {
        for (int v = 0; v < 4; v++) s.Draw(v, lane, mask, random, -0.1f, 0.1f);
    }
}
