using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.ClassicControl;

/// <summary>
/// CartPole-v1 as in Gymnasium 0.29.1 (<c>gymnasium/envs/classic_control/cartpole.py</c>, Barto, Sutton and Anderson
/// 1983): a pole on a cart pushed left (action 0) or right (1) with force 10; reward 1 per step, the terminating step
/// included; terminated when |x| &gt; 2.4 or |theta| &gt; 12 degrees; truncated at 500 steps. Euler integration.
/// State: x, x_dot, theta, theta_dot, each reset uniform on [-0.05, 0.05]; the observation is the state.
/// </summary>
public readonly struct CartPole : IVectorDynamics<CartPole>
{
    // Constants of Gymnasium's CartPoleEnv.__init__.
    const float Gravity = 9.8f, MassCart = 1.0f, MassPole = 0.1f, Length = 0.5f, ForceMag = 10.0f, Tau = 0.02f;
    const float TotalMass = MassPole + MassCart, PoleMassLength = MassPole * Length;
    const float ThetaThreshold = (float)(12 * 2 * Math.PI / 360), XThreshold = 2.4f;

    /// <inheritdoc/>
    public static EnvSpec Spec { get; } = new(
        "CartPole-v1",
        // Observation bounds: twice the termination thresholds, float32 max for the velocities (Gymnasium).
        new BoxSpace([-2 * XThreshold, -float.MaxValue, -2 * ThetaThreshold, -float.MaxValue],
                     [2 * XThreshold, float.MaxValue, 2 * ThetaThreshold, float.MaxValue]),
        new DiscreteSpace(2),
        MaxEpisodeSteps: 500, RewardThreshold: 475, SolveThreshold: 475,
        ["x", "x_dot", "theta", "theta_dot"]);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Step<L>(StateView s, int lane, L action, out L reward) where L : unmanaged, ILanes<L>
    {
        L x = s.Get<L>(0, lane), xDot = s.Get<L>(1, lane), theta = s.Get<L>(2, lane), thetaDot = s.Get<L>(3, lane);
        L force = (action * L.Create(2f) - L.Create(1f)) * L.Create(ForceMag);
        (L sin, L cos) = LaneMath.SinCos(theta);

        // https://coneural.org/florian/papers/05_cart_pole.pdf, as Gymnasium writes it.
        // Division by the constant total mass is a multiplication by its reciprocal (within an ulp; a vector
        // division costs ten times a multiplication).
        L inverseMass = L.Create(1f / TotalMass);
        L temp = (force + L.Create(PoleMassLength) * thetaDot * thetaDot * sin) * inverseMass;
        L thetaAcc = (L.Create(Gravity) * sin - cos * temp)
            / (L.Create(Length) * (L.Create(4f / 3f) - L.Create(MassPole) * cos * cos * inverseMass));
        L xAcc = temp - L.Create(PoleMassLength) * thetaAcc * cos * inverseMass;

        x += L.Create(Tau) * xDot;
        xDot += L.Create(Tau) * xAcc;
        theta += L.Create(Tau) * thetaDot;
        thetaDot += L.Create(Tau) * thetaAcc;
        s.Set(0, lane, x);
        s.Set(1, lane, xDot);
        s.Set(2, lane, theta);
        s.Set(3, lane, thetaDot);

        reward = L.Create(1f); // the step that terminates is rewarded too, as in Gymnasium
        return L.Or(
            L.Or(L.LessThan(x, L.Create(-XThreshold)), L.LessThan(L.Create(XThreshold), x)),
            L.Or(L.LessThan(theta, L.Create(-ThetaThreshold)), L.LessThan(L.Create(ThetaThreshold), theta)));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe<L>(StateView s, int lane, ref float rows) where L : unmanaged, ILanes<L> =>
        Rows.Write(ref rows, lane, s.Get<L>(0, lane), s.Get<L>(1, lane), s.Get<L>(2, lane), s.Get<L>(3, lane));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset<L>(StateView s, int lane, L mask, RandomLanes random) where L : unmanaged, ILanes<L>
    {
        for (int v = 0; v < 4; v++) s.Draw(v, lane, mask, random, -0.05f, 0.05f);
    }
}
