using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>An episode a lane finished, as a kernel logs it: the step (within the drain period) and lane order it ended in, its return and length.</summary>
public struct DeviceEpisode
{
    /// <summary>Vector step since the log was last drained at which the episode ended.</summary>
    public int Step;
    /// <summary>The lane.</summary>
    public int Lane;
    /// <summary>Undiscounted return.</summary>
    public float Return;
    /// <summary>Steps.</summary>
    public int Length;
    /// <summary>1 when it terminated, 0 when it was truncated.</summary>
    public int Terminated;
}

/// <summary>Where a step writes what the vector-env contract promises the host.</summary>
public struct StepOutputs
{
    public ArrayView<float> Observations;
    public ArrayView<float> FinalObservations;
    public ArrayView<float> Rewards;
    public ArrayView<int> Terminated;
    public ArrayView<int> Truncated;
    public ArrayView<float> Actions;
    public ArrayView<uint> ActionState;
    public ArrayView<uint> ActionStep;
    public ArrayView<DeviceEpisode> Episodes;
    public ArrayView<int> EpisodeCount;
    public int ObservationSize;
    public int AutoReset;
    /// <summary>Non-zero: each lane draws a uniform random action from its own stream instead of reading Actions (benchmarks).</summary>
    public int RandomActions;
    /// <summary>Discrete actions (0 for a box).</summary>
    public int ActionCount;
    /// <summary>Non-zero: one episode-counter atomic per warp (EpisodeKernels.WarpSlot); a GPU's setting.</summary>
    public int AggregateAtomics;
    /// <summary>A box's bounds, for random actions.</summary>
    public float ActionLow;
    public float ActionHigh;
    public int Step;
}

/// <summary>The env kernels, each a grid-stride loop over lanes.</summary>
public static class EnvKernels
{
    /// <summary>Resets every lane: a new state from its stream, zero steps and return, its first observation.</summary>
    public static void Reset(Index1D index, int stride, EnvLanes env, ArrayView<float> observations, int observationSize)
    {
        for (int lane = index; lane < env.Lanes; lane += stride)
        {
            EnvDynamics.Reset(env, lane);
            env.Elapsed[lane] = 0;
            env.Returns[lane] = 0f;
            Observe(env, lane, observations, 1, lane * observationSize);
        }
    }

    /// <summary>Writes every lane's observation from its state (after the host set states).</summary>
    public static void ObserveAll(Index1D index, int stride, EnvLanes env, ArrayView<float> observations, int observationSize)
    {
        for (int lane = index; lane < env.Lanes; lane += stride) Observe(env, lane, observations, 1, lane * observationSize);
    }

    /// <summary>
    /// One step of every lane with its action: reward, flags, final observation, the episode log (a slot per warp, not
    /// per episode: <see cref="EpisodeKernels.WarpSlot"/>), auto-reset. A group steps consecutive lanes; every thread of
    /// a group runs the same rounds, so the warp's shuffles see all its threads.
    /// </summary>
    [Kernel]
    public static void Step(EnvLanes env, StepOutputs o)
    {
        int group = Group.DimX;
        for (int first = Grid.IdxX * group; first < env.Lanes; first += Grid.DimX * group)
        {
            int lane = first + Group.IdxX;
            bool active = lane < env.Lanes, ended = false, terminated = false;
            var episode = default(DeviceEpisode);
            if (active)
            {
                float action;
                if (o.RandomActions != 0)
                {
                    uint state = o.ActionState[lane];
                    action = o.ActionCount > 0
                        ? (int)DeviceMath.Uniform(ref state, o.ActionStep[lane], 0f, o.ActionCount)
                        : DeviceMath.Uniform(ref state, o.ActionStep[lane], o.ActionLow, o.ActionHigh);
                    o.ActionState[lane] = state;
                }
                else action = o.Actions[lane];
                int row = lane * o.ObservationSize;
                terminated = StepLane(env, lane, action, o.FinalObservations, 1, row, o.Step, o.AutoReset != 0, out float reward, out bool truncated, out episode);
                ended = terminated || truncated;
                Observe(env, lane, o.Observations, 1, row);
                o.Rewards[lane] = reward;
                o.Terminated[lane] = terminated ? 1 : 0;
                o.Truncated[lane] = truncated ? 1 : 0;
            }
            int slot = EpisodeKernels.WarpSlot(ended, o.EpisodeCount, o.AggregateAtomics);
            if (ended && slot < o.Episodes.Length) o.Episodes[slot] = episode;
        }
    }

    /// <summary>
    /// Steps one lane and keeps the contract: Gymnasium's time limit (truncated at the limit even if it also
    /// terminated), the final observation and the record of an episode that ended (into <paramref name="episode"/>; the
    /// caller logs it), then (with auto-reset) its new episode's state. The final observation's value k goes to
    /// <c>finalObservations[k * stride + column]</c>.
    /// </summary>
    public static bool StepLane(in EnvLanes env, int lane, float action, ArrayView<float> finalObservations, int stride, int column,
        int step, bool autoReset, out float reward, out bool truncated, out DeviceEpisode episode)
    {
        bool terminated = EnvDynamics.Step(env, lane, action, out reward);
        int elapsed = env.Elapsed[lane] + 1;
        float sum = env.Returns[lane] + reward;
        truncated = elapsed >= env.MaxSteps;
        episode = default;
        if (terminated || truncated)
        {
            Observe(env, lane, finalObservations, stride, column);
            episode = new DeviceEpisode { Step = step, Lane = lane, Return = sum, Length = elapsed, Terminated = terminated ? 1 : 0 };
            if (autoReset)
            {
                EnvDynamics.Reset(env, lane);
                elapsed = 0;
                sum = 0f;
            }
        }
        env.Elapsed[lane] = elapsed;
        env.Returns[lane] = sum;
        return terminated;
    }

    /// <summary>Writes the lane's observation, value k at <c>destination[k * stride + column]</c> (row-major: stride 1; feature-major: stride N).</summary>
    public static void Observe(in EnvLanes env, int lane, ArrayView<float> destination, int stride, int column)
    {
        int size = EnvDynamics.ObservationSize((DeviceEnvKind)env.Kind);
        for (int k = 0; k < size; k++) destination[k * stride + column] = EnvDynamics.Observe(env, lane, k);
    }
}
