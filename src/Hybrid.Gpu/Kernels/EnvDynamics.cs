using System.Runtime.CompilerServices;
using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>The classic-control envs the device steps; the value is what kernels switch on.</summary>
public enum DeviceEnvKind
{
    /// <summary>CartPole-v1.</summary>
    CartPole,
}

/// <summary>
/// The lanes of a device env: structure-of-arrays state (variable v of lane i at <c>v * Lanes + i</c>), each lane's
/// elapsed steps, running return and reset stream (seeded as the CPU env seeds lane i, so resets draw the same values).
/// </summary>
internal struct EnvLanes
{
    public ArrayView<float> State;
    public ArrayView<int> Elapsed;
    public ArrayView<float> Returns;
    public ArrayView<uint> RandomState;
    public ArrayView<uint> RandomStep;
    public int Lanes;
    public int Kind;
    public int MaxSteps;

    public readonly float Get(int variable, int lane) => State[variable * Lanes + lane];

    public readonly void Set(int variable, int lane, float value) => State[variable * Lanes + lane] = value;

    public readonly float Draw(int lane, float low, float high)
    {
        uint state = RandomState[lane];
        float value = DeviceMath.Uniform(ref state, RandomStep[lane], low, high);
        RandomState[lane] = state;
        return value;
    }
}

/// <summary>
/// The envs' dynamics for one lane, the same arithmetic as the CPU envs in Hybrid.Envs.ClassicControl (their sources
/// cite Gymnasium), written over scalars so that ILGPU compiles them into kernels.
/// </summary>
internal static class EnvDynamics
{
    /// <summary>Observation size of an env kind.</summary>
    public static int ObservationSize(DeviceEnvKind kind) => kind switch
    {
        DeviceEnvKind.CartPole => 4,
        _ => 0, // kernels cannot throw; DeviceEnvs.Kind refuses unknown envs on the host
    };

    /// <summary>Internal state variables of an env kind.</summary>
    public static int StateSize(DeviceEnvKind kind) => ObservationSize(kind);

    /// <summary>Steps lane <paramref name="lane"/> with <paramref name="action"/> (a discrete action as a float, or a box action); returns whether it terminated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Step(in EnvLanes e, int lane, float action, out float reward) => CartPoleStep(e, lane, action, out reward);

    /// <summary>Draws a new episode's state for the lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset(in EnvLanes e, int lane)
    {
        for (int v = 0; v < 4; v++) e.Set(v, lane, e.Draw(lane, -0.05f, 0.05f));
    }

    /// <summary>Observation value <paramref name="k"/> of the lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Observe(in EnvLanes e, int lane, int k) => e.Get(k, lane);

    // CartPole-v1: the constants and equations of Hybrid.Envs.ClassicControl.CartPole (Gymnasium 0.29.1's cartpole.py).
    const float Gravity = 9.8f, MassCart = 1.0f, MassPole = 0.1f, Length = 0.5f, ForceMag = 10.0f, Tau = 0.02f;
    const float TotalMass = MassPole + MassCart, PoleMassLength = MassPole * Length;
    const float ThetaThreshold = (float)(12 * 2 * Math.PI / 360), XThreshold = 2.4f;

    static bool CartPoleStep(in EnvLanes e, int lane, float action, out float reward)
    {
        float x = e.Get(0, lane), xDot = e.Get(1, lane), theta = e.Get(2, lane), thetaDot = e.Get(3, lane);
        float force = (action * 2f - 1f) * ForceMag;
        DeviceMath.SinCos(theta, out float sin, out float cos);
        const float inverseMass = 1f / TotalMass;
        float temp = (force + PoleMassLength * thetaDot * thetaDot * sin) * inverseMass;
        float thetaAcc = (Gravity * sin - cos * temp) / (Length * (4f / 3f - MassPole * cos * cos * inverseMass));
        float xAcc = temp - PoleMassLength * thetaAcc * cos * inverseMass;
        x += Tau * xDot;
        xDot += Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;
        e.Set(0, lane, x);
        e.Set(1, lane, xDot);
        e.Set(2, lane, theta);
        e.Set(3, lane, thetaDot);
        reward = 1f;
        return x < -XThreshold || XThreshold < x || theta < -ThetaThreshold || ThetaThreshold < theta;
    }
}
