using System.Runtime.CompilerServices;
using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>The classic-control envs the device steps; the value is what kernels switch on.</summary>
public enum DeviceEnvKind
{
    /// <summary>CartPole-v1.</summary>
    CartPole,
    /// <summary>Acrobot-v1.</summary>
    Acrobot,
    /// <summary>MountainCar-v0.</summary>
    MountainCar,
    /// <summary>MountainCarContinuous-v0.</summary>
    MountainCarContinuous,
    /// <summary>Pendulum-v1.</summary>
    Pendulum,
}

/// <summary>
/// The lanes of a device env: structure-of-arrays state (variable v of lane i at <c>v * Lanes + i</c>), each lane's
/// elapsed steps, running return and reset stream (seeded as the CPU env seeds lane i, so resets draw the same values).
/// </summary>
public struct EnvLanes
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
public static class EnvDynamics
{
    /// <summary>Observation size of an env kind (0 for none: kernels cannot throw, and DeviceEnvs.Kind refuses unknown envs on the host).</summary>
    public static int ObservationSize(DeviceEnvKind kind) => kind switch
    {
        DeviceEnvKind.CartPole => 4,
        DeviceEnvKind.Acrobot => 6,
        DeviceEnvKind.MountainCar or DeviceEnvKind.MountainCarContinuous => 2,
        DeviceEnvKind.Pendulum => 3,
        _ => 0,
    };

    /// <summary>Internal state variables of an env kind.</summary>
    public static int StateSize(DeviceEnvKind kind) => kind switch
    {
        DeviceEnvKind.CartPole or DeviceEnvKind.Acrobot => 4,
        DeviceEnvKind.MountainCar or DeviceEnvKind.MountainCarContinuous or DeviceEnvKind.Pendulum => 2,
        _ => 0,
    };

    /// <summary>Steps lane <paramref name="lane"/> with <paramref name="action"/> (a discrete action as a float, or a box action); returns whether it terminated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Step(in EnvLanes e, int lane, float action, out float reward)
    {
        switch ((DeviceEnvKind)e.Kind)
        {
            case DeviceEnvKind.Acrobot: return AcrobotStep(e, lane, action, out reward);
            case DeviceEnvKind.MountainCar: return MountainCarStep(e, lane, action, out reward);
            case DeviceEnvKind.MountainCarContinuous: return MountainCarContinuousStep(e, lane, action, out reward);
            case DeviceEnvKind.Pendulum: return PendulumStep(e, lane, action, out reward);
            default: return CartPoleStep(e, lane, action, out reward);
        }
    }

    /// <summary>Draws a new episode's state for the lane (the CPU envs' reset distributions, drawn in the same order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset(in EnvLanes e, int lane)
    {
        switch ((DeviceEnvKind)e.Kind)
        {
            case DeviceEnvKind.Acrobot:
                for (int v = 0; v < 4; v++) e.Set(v, lane, e.Draw(lane, -0.1f, 0.1f));
                break;
            case DeviceEnvKind.MountainCar:
            case DeviceEnvKind.MountainCarContinuous:
                e.Set(0, lane, e.Draw(lane, -0.6f, -0.4f));
                e.Set(1, lane, 0f);
                break;
            case DeviceEnvKind.Pendulum:
                e.Set(0, lane, e.Draw(lane, -Pi, Pi));
                e.Set(1, lane, e.Draw(lane, -1f, 1f));
                break;
            default:
                for (int v = 0; v < 4; v++) e.Set(v, lane, e.Draw(lane, -0.05f, 0.05f));
                break;
        }
    }

    /// <summary>Observation value <paramref name="k"/> of the lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Observe(in EnvLanes e, int lane, int k)
    {
        switch ((DeviceEnvKind)e.Kind)
        {
            case DeviceEnvKind.Acrobot:
                // cos and sin of both angles, then both velocities.
                if (k >= 4) return e.Get(k - 2, lane);
                DeviceMath.SinCos(e.Get(k / 2, lane), out float sin, out float cos);
                return k % 2 == 0 ? cos : sin;
            case DeviceEnvKind.Pendulum:
                if (k == 2) return e.Get(1, lane);
                DeviceMath.SinCos(e.Get(0, lane), out float s, out float c);
                return k == 0 ? c : s;
            default:
                return e.Get(k, lane);
        }
    }

    const float Pi = MathF.PI;

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

    // Acrobot-v1: Hybrid.Envs.ClassicControl.Acrobot (Gymnasium's acrobot.py, "book" dynamics, one RK4 step of dt 0.2).
    const float AcrobotDt = 0.2f, MaxVel1 = 4 * Pi, MaxVel2 = 9 * Pi;

    static bool AcrobotStep(in EnvLanes e, int lane, float action, out float reward)
    {
        float theta1 = e.Get(0, lane), theta2 = e.Get(1, lane), dtheta1 = e.Get(2, lane), dtheta2 = e.Get(3, lane);
        float torque = action - 1f;
        const float half = AcrobotDt / 2, full = AcrobotDt;
        AcrobotAccelerations(theta1, theta2, dtheta1, dtheta2, torque, out float a1, out float a2);
        float t1 = theta1 + half * dtheta1, t2 = theta2 + half * dtheta2, v1 = dtheta1 + half * a1, v2 = dtheta2 + half * a2;
        AcrobotAccelerations(t1, t2, v1, v2, torque, out float b1, out float b2);
        float u1 = theta1 + half * v1, u2 = theta2 + half * v2, w1 = dtheta1 + half * b1, w2 = dtheta2 + half * b2;
        AcrobotAccelerations(u1, u2, w1, w2, torque, out float c1, out float c2);
        float x1 = theta1 + full * w1, x2 = theta2 + full * w2, y1 = dtheta1 + full * c1, y2 = dtheta2 + full * c2;
        AcrobotAccelerations(x1, x2, y1, y2, torque, out float d1, out float d2);
        const float sixth = AcrobotDt / 6;
        theta1 += sixth * (dtheta1 + 2f * v1 + 2f * w1 + y1);
        theta2 += sixth * (dtheta2 + 2f * v2 + 2f * w2 + y2);
        dtheta1 += sixth * (a1 + 2f * b1 + 2f * c1 + d1);
        dtheta2 += sixth * (a2 + 2f * b2 + 2f * c2 + d2);
        theta1 = Wrap(theta1);
        theta2 = Wrap(theta2);
        dtheta1 = MathF.Min(MathF.Max(dtheta1, -MaxVel1), MaxVel1);
        dtheta2 = MathF.Min(MathF.Max(dtheta2, -MaxVel2), MaxVel2);
        e.Set(0, lane, theta1);
        e.Set(1, lane, theta2);
        e.Set(2, lane, dtheta1);
        e.Set(3, lane, dtheta2);
        DeviceMath.SinCos(theta1, out _, out float cos1);
        DeviceMath.SinCos(theta1 + theta2, out _, out float cos12);
        bool terminated = 1f < -cos1 - cos12;
        reward = terminated ? 0f : -1f;
        return terminated;
    }

    static void AcrobotAccelerations(float theta1, float theta2, float dtheta1, float dtheta2, float torque, out float ddtheta1, out float ddtheta2)
    {
        const float m1 = 1f, m2 = 1f, l1 = 1f, lc1 = 0.5f, lc2 = 0.5f, i1 = 1f, i2 = 1f, g = 9.8f;
        DeviceMath.SinCos(theta2, out float sin2, out float cos2);
        DeviceMath.SinCos(theta1 + theta2, out float sin12, out _);
        DeviceMath.SinCos(theta1, out float sin1, out _);
        float d1 = (m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2) + i1 + i2) + (m2 * 2 * l1 * lc2) * cos2;
        float d2 = (m2 * lc2 * lc2 + i2) + (m2 * l1 * lc2) * cos2;
        float phi2 = (m2 * lc2 * g) * sin12;
        float phi1 = (-m2 * l1 * lc2) * dtheta2 * dtheta2 * sin2 - (2 * m2 * l1 * lc2) * dtheta2 * dtheta1 * sin2 + ((m1 * lc1 + m2 * l1) * g) * sin1 + phi2;
        ddtheta2 = (torque + d2 / d1 * phi1 - (m2 * l1 * lc2) * dtheta1 * dtheta1 * sin2 - phi2) / ((m2 * lc2 * lc2 + i2) - d2 * d2 / d1);
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    }

    /// <summary>Gymnasium's wrap(x, -pi, pi) as the CPU env computes it: one subtraction of the loop's count of turns.</summary>
    static float Wrap(float x)
    {
        const float turn = 2 * Pi;
        if (Pi < x) x -= -MathF.Floor((Pi - x) / turn) * turn;
        if (x < -Pi) x += -MathF.Floor((x + Pi) / turn) * turn;
        return x;
    }

    // MountainCar-v0 and MountainCarContinuous-v0: Hybrid.Envs.ClassicControl.MountainCar(Continuous) (Gymnasium's mountain_car.py and continuous_mountain_car.py).
    const float MinPosition = -1.2f, MaxPosition = 0.6f, MaxSpeed = 0.07f;

    static bool MountainCarStep(in EnvLanes e, int lane, float action, out float reward)
    {
        float position = e.Get(0, lane), velocity = e.Get(1, lane);
        DeviceMath.SinCos(3f * position, out _, out float cos);
        velocity += (action - 1f) * 0.001f + cos * -0.0025f;
        Move(e, lane, position, velocity, out position, out velocity);
        reward = -1f;
        return 0.5f <= position && 0f <= velocity;
    }

    static bool MountainCarContinuousStep(in EnvLanes e, int lane, float action, out float reward)
    {
        float position = e.Get(0, lane), velocity = e.Get(1, lane);
        float force = MathF.Min(MathF.Max(action, -1f), 1f);
        DeviceMath.SinCos(3f * position, out _, out float cos);
        velocity += force * 0.0015f - 0.0025f * cos;
        Move(e, lane, position, velocity, out position, out velocity);
        bool terminated = 0.45f <= position && 0f <= velocity;
        // Gymnasium charges the unclipped action.
        reward = (terminated ? 100f : 0f) - action * action * 0.1f;
        return terminated;
    }

    static void Move(in EnvLanes e, int lane, float position, float velocity, out float newPosition, out float newVelocity)
    {
        velocity = MathF.Min(MathF.Max(velocity, -MaxSpeed), MaxSpeed);
        position = MathF.Min(MathF.Max(position + velocity, MinPosition), MaxPosition);
        if (position == MinPosition && velocity < 0f) velocity = 0f;
        e.Set(0, lane, position);
        e.Set(1, lane, velocity);
        (newPosition, newVelocity) = (position, velocity);
    }

    // Pendulum-v1: Hybrid.Envs.ClassicControl.Pendulum (Gymnasium's pendulum.py, g = 10).
    static bool PendulumStep(in EnvLanes e, int lane, float action, out float reward)
    {
        const float maxSpeed = 8f, maxTorque = 2f, dt = 0.05f, g = 10f, m = 1f, l = 1f;
        float theta = e.Get(0, lane), thetaDot = e.Get(1, lane);
        float u = MathF.Min(MathF.Max(action, -maxTorque), maxTorque);
        float shifted = theta + Pi;
        float normalized = shifted - 2 * Pi * MathF.Floor(shifted / (2 * Pi)) - Pi;
        reward = -(normalized * normalized + 0.1f * thetaDot * thetaDot + 0.001f * u * u);
        DeviceMath.SinCos(theta, out float sin, out _);
        float newThetaDot = thetaDot + (3 * g / (2 * l) * sin + 3f / (m * l * l) * u) * dt;
        newThetaDot = MathF.Min(MathF.Max(newThetaDot, -maxSpeed), maxSpeed);
        e.Set(0, lane, theta + newThetaDot * dt);
        e.Set(1, lane, newThetaDot);
        return false;
    }
}
