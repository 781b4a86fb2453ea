namespace Hybrid.Envs;

/// <summary>
/// The vector-env contract as seen from the host, whichever memory the lanes live in: <see cref="VectorEnv"/> steps
/// them on the CPU; a device env (Hybrid.Gpu) steps them in kernels and copies its buffers back after each host call,
/// so that the same checks run on both.
/// </summary>
public interface IVectorLanes
{
    /// <summary>The env's spaces and limits.</summary>
    EnvSpec Spec { get; }

    /// <summary>Lanes (N).</summary>
    int NumEnvs { get; }

    /// <summary>What steps the lanes, as a report names it (a lane group width, or a device).</summary>
    string SteppedOn { get; }

    /// <summary>Whether a lane that ended is reset in the same step (on by default).</summary>
    bool AutoReset { get; set; }

    /// <summary>Observations [N * obs], row-major.</summary>
    ReadOnlySpan<float> Observations { get; }

    /// <summary>Rewards of the last step [N].</summary>
    ReadOnlySpan<float> Rewards { get; }

    /// <summary>Lanes that terminated at the last step.</summary>
    ReadOnlySpan<bool> Terminated { get; }

    /// <summary>Lanes that were truncated at the last step.</summary>
    ReadOnlySpan<bool> Truncated { get; }

    /// <summary>Seeds lane i from <c>(seed, firstLane + i)</c> and resets every lane.</summary>
    void Reset(ulong seed, int firstLane);

    /// <summary>Resets every lane, continuing each lane's random stream.</summary>
    void Reset();

    /// <summary>Sets a lane's internal state and elapsed steps (checks and tests).</summary>
    void SetState(int lane, ReadOnlySpan<double> state, int elapsedSteps);

    /// <summary>Reads a lane's internal state.</summary>
    void GetState(int lane, Span<double> destination);

    /// <summary>Steps every lane with discrete actions.</summary>
    void Step(ReadOnlySpan<int> actions);

    /// <summary>Steps every lane with box actions [N * D].</summary>
    void Step(ReadOnlySpan<float> actions);
}
