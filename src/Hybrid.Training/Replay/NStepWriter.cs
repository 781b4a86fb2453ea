namespace Hybrid.Training.Replay;

/// <summary>
/// Turns each lane's steps into n-step transitions for a replay buffer: a transition from s_t carries
/// R = r_t + gamma r_t+1 + ... + gamma^(k-1) r_t+k-1 and bootstraps from s_t+k with discount gamma^k, k = n; where
/// the episode ends first, every step still pending goes out with the steps left (k &lt; n): with discount 0 at a
/// terminal, and from the final observation with gamma^k at a truncation. n = 1 is the one-step transition
/// (Mnih et al. 2015); n-step returns as in Hessel et al. 2018 and Horgan et al. 2018. Actions are discrete, or box
/// actions of a given size (DDPG, D4PG). Allocates nothing per step.
/// </summary>
public sealed class NStepWriter
{
    readonly int _n, _observationSize, _actionWidth;
    readonly float _gamma;
    readonly float[] _observations, _rewards, _actions;
    readonly int[] _head, _count;

    /// <summary>A writer for <paramref name="lanes"/> lanes, <paramref name="n"/> steps per return, discrete actions or (<paramref name="boxActionSize"/> above 0) box actions of that many floats.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or gamma is outside [0, 1].</exception>
    public NStepWriter(int lanes, int n, int observationSize, float gamma, int boxActionSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(observationSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(boxActionSize, 0);
        if (gamma is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"gamma was {gamma}; expected in [0, 1].");
        (_n, _observationSize, _gamma, _actionWidth) = (n, observationSize, gamma, Math.Max(1, boxActionSize));
        _observations = new float[lanes * n * observationSize];
        _rewards = new float[lanes * n];
        _actions = new float[lanes * n * _actionWidth];
        _head = new int[lanes];
        _count = new int[lanes];
    }

    /// <summary>Lanes.</summary>
    public int Lanes => _head.Length;

    /// <summary>
    /// Lane <paramref name="lane"/> acted <paramref name="action"/> from <paramref name="observation"/> and received
    /// <paramref name="reward"/>; <paramref name="next"/> is the observation after the step (the final one where the
    /// episode ended). Writes the transitions that are complete into <paramref name="buffer"/>.
    /// </summary>
    public void Add(int lane, ReadOnlySpan<float> observation, int action, float reward, bool terminated, bool truncated, ReadOnlySpan<float> next,
        ReplayBuffer buffer) =>
        Add(lane, observation, [action], reward, terminated, truncated, next, buffer);

    /// <summary>As the other overload, for a box action of the writer's size (a discrete action's index as one float).</summary>
    public void Add(int lane, ReadOnlySpan<float> observation, ReadOnlySpan<float> action, float reward, bool terminated, bool truncated, ReadOnlySpan<float> next,
        ReplayBuffer buffer)
    {
        int first = lane * _n, at = first + (_head[lane] + _count[lane]) % _n;
        observation.CopyTo(_observations.AsSpan(at * _observationSize, _observationSize));
        action.CopyTo(_actions.AsSpan(at * _actionWidth, _actionWidth));
        _rewards[at] = reward;
        _count[lane]++;
        if (terminated || truncated)
            while (_count[lane] > 0) Emit(lane, next, terminated, buffer);
        else if (_count[lane] == _n) Emit(lane, next, terminated: false, buffer);
    }

    /// <summary>The lane's oldest pending step as a transition over every pending step, bootstrapping from <paramref name="next"/>; then drops it.</summary>
    void Emit(int lane, ReadOnlySpan<float> next, bool terminated, ReplayBuffer buffer)
    {
        int first = lane * _n, head = _head[lane], k = _count[lane];
        // R = r_0 + gamma (r_1 + gamma (... r_k-1)), from the last reward back.
        float ret = _rewards[first + (head + k - 1) % _n], discount = _gamma;
        for (int j = k - 2; j >= 0; j--)
        {
            ret = _rewards[first + (head + j) % _n] + _gamma * ret;
            discount *= _gamma;
        }
        int slot = first + head;
        buffer.AddRow(_observations.AsSpan(slot * _observationSize, _observationSize), _actions.AsSpan(slot * _actionWidth, _actionWidth), ret,
            terminated ? 0f : discount, next);
        _head[lane] = (head + 1) % _n;
        _count[lane] = k - 1;
    }

    /// <summary>Steps pending on <paramref name="lane"/> (fewer than n).</summary>
    public int Pending(int lane) => _count[lane];

    /// <summary>Writes the pending steps.</summary>
    public void Save(BinaryWriter writer)
    {
        BinaryState.WriteTag(writer, "n-step writer");
        writer.Write(Lanes);
        writer.Write(_n);
        foreach (float[] values in (float[][])[_observations, _rewards, _actions]) BinaryState.Write<float>(writer, values);
        foreach (int[] values in (int[][])[_head, _count]) BinaryState.Write<int>(writer, values);
    }

    /// <summary>Restores what <see cref="Save"/> wrote (the same lanes and n).</summary>
    /// <exception cref="InvalidDataException">It was another shape, or is cut short.</exception>
    public void Load(BinaryReader reader)
    {
        BinaryState.ReadTag(reader, "n-step writer");
        int lanes = reader.ReadInt32(), n = reader.ReadInt32();
        if (lanes != Lanes || n != _n) throw new InvalidDataException($"the saved n-step writer has {lanes} lanes of n = {n}; this run's has {Lanes} of n = {_n}.");
        foreach (float[] values in (float[][])[_observations, _rewards, _actions]) BinaryState.Read<float>(reader, values, "pending steps");
        foreach (int[] values in (int[][])[_head, _count]) BinaryState.Read<int>(reader, values, "pending steps");
    }
}
