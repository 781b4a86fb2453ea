namespace Hybrid.Training.Rollouts;

/// <summary>
/// Preallocated storage for up to T steps of N lanes, time-major (sample index t * N + lane): what an actor-critic
/// update needs. Discounts are gamma, or 0 where the episode terminated; a truncated step keeps its observation
/// before the auto-reset so the update can bootstrap from its value. For a recurrent policy the rollout also carries
/// each lane's LSTM state from step to step (zeroed where the lane's episode ends), keeps the state that entered its
/// first step, and marks where a lane's state was reset within it: what a learner needs to recompute the unroll.
/// Nothing here allocates after construction.
/// </summary>
public sealed class Rollout
{
    /// <summary>Storage for <paramref name="tMax"/> steps of <paramref name="lanes"/> lanes of <paramref name="env"/>'s observations and actions.</summary>
    /// <param name="tMax">Steps per lane (T).</param>
    /// <param name="lanes">Lanes (N).</param>
    /// <param name="env">The env's spec: observation size, and action size (1 for discrete, D for a D-dimensional box).</param>
    /// <param name="recurrentSize">The policy's LSTM units (0: a feed-forward policy, no state).</param>
    public Rollout(int tMax, int lanes, EnvSpec env, int recurrentSize = 0)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegative(recurrentSize);
        RecurrentSize = recurrentSize;
        int state = lanes * recurrentSize;
        (Hidden, Cell, InitialHidden, InitialCell) = (new float[state], new float[state], new float[state], new float[state]);
        // Row 0 stays false (the first step's state is the initial one); row t + 1 says step t ended its lane's episode.
        _ends = recurrentSize > 0 ? new bool[(tMax + 1) * lanes] : [];
        (TMax, Lanes, ObservationSize, ActionSize, Discrete) = (tMax, lanes, env.ObservationSize, env.ActionSpace.Size, env.IsDiscrete);
        int capacity = tMax * lanes;
        Observations = new float[capacity * ObservationSize];
        DiscreteActions = Discrete ? new int[capacity] : [];
        BoxActions = Discrete ? [] : new float[capacity * ActionSize];
        Values = new float[capacity];
        LogProbabilities = new float[capacity];
        Rewards = new float[capacity];
        Discounts = new float[capacity];
        Truncated = new bool[capacity];
        TruncatedIndices = new int[capacity];
        FinalObservations = new float[capacity * ObservationSize];
    }

    /// <summary>T.</summary>
    public int TMax { get; }
    /// <summary>N.</summary>
    public int Lanes { get; }
    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }
    /// <summary>1 (discrete) or D (box).</summary>
    public int ActionSize { get; }
    /// <summary>Whether actions are discrete.</summary>
    public bool Discrete { get; }
    /// <summary>Steps filled so far (at most T; an A3C segment may end early at a terminal).</summary>
    public int Steps { get; private set; }
    /// <summary>Samples filled: Steps * N.</summary>
    public int Count => Steps * Lanes;

    /// <summary>s_t, [T * N * obs].</summary>
    public float[] Observations { get; }
    /// <summary>a_t for discrete actions, [T * N].</summary>
    public int[] DiscreteActions { get; }
    /// <summary>a_t for box actions, [T * N * D].</summary>
    public float[] BoxActions { get; }
    /// <summary>V(s_t) under the acting parameters.</summary>
    public float[] Values { get; }
    /// <summary>log mu(a_t | s_t) of the behaviour policy (IMPALA).</summary>
    public float[] LogProbabilities { get; }
    /// <summary>r_t.</summary>
    public float[] Rewards { get; }
    /// <summary>gamma, or 0 where the step terminated its episode.</summary>
    public float[] Discounts { get; }
    /// <summary>True where the step truncated (and did not terminate) its episode.</summary>
    public bool[] Truncated { get; }
    /// <summary>Sample indices of the truncated steps, in order; <see cref="TruncatedCount"/> of them.</summary>
    public int[] TruncatedIndices { get; }
    /// <summary>How many steps were truncated.</summary>
    public int TruncatedCount { get; private set; }
    /// <summary>Observations before the auto-reset of the truncated steps, packed in <see cref="TruncatedIndices"/> order.</summary>
    public float[] FinalObservations { get; }

    /// <summary>The policy's LSTM units; 0 for a feed-forward policy.</summary>
    public int RecurrentSize { get; }
    /// <summary>Each lane's carried LSTM h, [N * units]: the state entering the next step (zero at an episode's start).</summary>
    public float[] Hidden { get; }
    /// <summary>Each lane's carried LSTM c, [N * units].</summary>
    public float[] Cell { get; }
    /// <summary>The h that entered the rollout's first step, [N * units].</summary>
    public float[] InitialHidden { get; }
    /// <summary>The c that entered the rollout's first step, [N * units].</summary>
    public float[] InitialCell { get; }
    readonly bool[] _ends;

    /// <summary>[T * N], recurrent only: true where the lane's state was zeroed before step t (its previous step ended an episode); false at t = 0, whose state is the initial one.</summary>
    public ReadOnlySpan<bool> Resets => RecurrentSize > 0 ? _ends.AsSpan(0, TMax * Lanes) : default;

    /// <summary>Recurrent only: whether the step of sample <paramref name="i"/> (t * N + lane) ended the lane's episode (terminated or truncated).</summary>
    public bool EndedAt(int i) => _ends[Lanes + i];

    /// <summary>Keeps the carried state as the one entering the first step (before that step's forward pass changes it).</summary>
    /// <exception cref="InvalidOperationException">The rollout already holds steps.</exception>
    public void KeepInitialState()
    {
        if (Steps != 0) throw new InvalidOperationException($"KeepInitialState belongs before the first step; the rollout holds {Steps}.");
        Hidden.CopyTo(InitialHidden, 0);
        Cell.CopyTo(InitialCell, 0);
    }

    /// <summary>Zeroes every lane's carried state (new episodes everywhere).</summary>
    public void ClearState()
    {
        Array.Clear(Hidden);
        Array.Clear(Cell);
    }

    /// <summary>Empties the rollout (the arrays are reused).</summary>
    public void Clear()
    {
        Steps = 0;
        TruncatedCount = 0;
    }

    /// <summary>
    /// Declares the arrays filled from elsewhere (an unroll sent by another process): <paramref name="steps"/> steps of
    /// every lane, <paramref name="truncatedCount"/> truncated samples listed in <see cref="TruncatedIndices"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is outside what the rollout holds.</exception>
    public void Restore(int steps, int truncatedCount)
    {
        if ((uint)steps > (uint)TMax) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps was {steps}; expected 0 to {TMax}.");
        if ((uint)truncatedCount > (uint)(steps * Lanes))
            throw new ArgumentOutOfRangeException(nameof(truncatedCount), truncatedCount, $"truncatedCount was {truncatedCount}; expected 0 to {steps * Lanes}.");
        for (int k = 0; k < truncatedCount; k++)
            if ((uint)TruncatedIndices[k] >= (uint)(steps * Lanes))
                throw new ArgumentOutOfRangeException(nameof(truncatedCount), TruncatedIndices[k], $"truncated index {TruncatedIndices[k]} is outside the {steps * Lanes} samples.");
        (Steps, TruncatedCount) = (steps, truncatedCount);
    }

    /// <summary>Stores s_t (the env's observations before the step); returns the step index t.</summary>
    public int BeginStep(ReadOnlySpan<float> observations)
    {
        if (Steps == TMax) throw new InvalidOperationException($"Rollout is full ({TMax} steps); call Clear first.");
        observations[..(Lanes * ObservationSize)].CopyTo(Observations.AsSpan(Steps * Lanes * ObservationSize));
        return Steps;
    }

    /// <summary>The discrete action slots of step t.</summary>
    public Span<int> DiscreteActionsAt(int t) => DiscreteActions.AsSpan(t * Lanes, Lanes);

    /// <summary>The box action slots of step t.</summary>
    public Span<float> BoxActionsAt(int t) => BoxActions.AsSpan(t * Lanes * ActionSize, Lanes * ActionSize);

    /// <summary>Stores what the env returned for step t (rewards, terminals, truncations with their final observations) and completes the step.</summary>
    public void EndStep(int t, VectorEnv env, float gamma) =>
        EndStep(t, env.Rewards, env.Terminated, env.Truncated, env.FinalObservations, gamma);

    /// <summary>
    /// Stores step t's outcome given as the env's buffers: rewards, terminated and truncated flags [N], and the final
    /// observations [N * obs] (rows of lanes that did not end are not read); completes the step.
    /// </summary>
    public void EndStep(int t, ReadOnlySpan<float> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated,
        ReadOnlySpan<float> finalObservations, float gamma)
    {
        int n = Lanes, obs = ObservationSize;
        for (int lane = 0; lane < n; lane++)
        {
            int i = t * n + lane;
            Rewards[i] = rewards[lane];
            Discounts[i] = terminated[lane] ? 0f : gamma;
            bool cut = truncated[lane] && !terminated[lane];
            Truncated[i] = cut;
            if (cut)
            {
                finalObservations.Slice(lane * obs, obs).CopyTo(FinalObservations.AsSpan(TruncatedCount * obs));
                TruncatedIndices[TruncatedCount++] = i;
            }
            if (RecurrentSize == 0) continue;
            bool ended = terminated[lane] || truncated[lane];
            _ends[Lanes + i] = ended;
            if (ended)
            {
                // The lane's next step begins a new episode, from a zero state.
                Hidden.AsSpan(lane * RecurrentSize, RecurrentSize).Clear();
                Cell.AsSpan(lane * RecurrentSize, RecurrentSize).Clear();
            }
        }
        Steps = t + 1;
    }
}
