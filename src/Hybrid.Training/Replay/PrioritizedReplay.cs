namespace Hybrid.Training.Replay;

/// <summary>
/// Proportional prioritized replay (Schaul et al. 2016) over a <see cref="ReplayBuffer"/>'s slots: transition i is
/// drawn with probability P(i) = p_i^alpha / sum_k p_k^alpha, where p_i = |delta_i| + epsilon is its last TD error's
/// magnitude; a new transition gets the largest priority seen so far, so it is replayed at least once soon. A batch is
/// drawn stratified (one draw from each of k equal segments of the total), and each draw carries the importance weight
/// w_i = (N P(i))^-beta normalized by the largest possible, (N min_k P(k))^-beta, so weights are at most 1.
/// </summary>
public sealed class PrioritizedReplay
{
    readonly SumTree _tree;
    readonly double _alpha, _epsilon;
    double _maxPriority = 1;

    /// <summary>Priorities for <paramref name="buffer"/>'s slots.</summary>
    /// <exception cref="ArgumentOutOfRangeException">alpha is negative or epsilon not positive.</exception>
    public PrioritizedReplay(ReplayBuffer buffer, double alpha, double epsilon = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (!(alpha >= 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha was {alpha}; expected >= 0.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon was {epsilon}; expected > 0.");
        (Buffer, _alpha, _epsilon) = (buffer, alpha, epsilon);
        _tree = new SumTree(buffer.Capacity);
        buffer.SlotWritten = Added;
    }

    /// <summary>The transitions.</summary>
    public ReplayBuffer Buffer { get; }

    /// <summary>The tree of p^alpha (tests read it).</summary>
    public SumTree Tree => _tree;

    /// <summary>The largest priority p seen so far, which new transitions get.</summary>
    public double MaxPriority => _maxPriority;

    /// <summary>Gives the transition just written to <paramref name="slot"/> the largest priority seen so far (the buffer calls it).</summary>
    public void Added(int slot) => _tree.Set(slot, Math.Pow(_maxPriority, _alpha));

    /// <summary>
    /// Draws <paramref name="slots"/>.Length transitions, one from each equal segment of the total priority, and their
    /// importance weights for <paramref name="beta"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The buffer is empty.</exception>
    public void Sample(Rng rng, double beta, Span<int> slots, Span<float> weights)
    {
        if (Buffer.Count == 0) throw new InvalidOperationException("the replay buffer is empty; nothing to sample.");
        double total = _tree.Total, segment = total / slots.Length, n = Buffer.Count;
        // The largest weight any held transition can get: the one with the smallest priority's.
        double largest = Math.Pow(n * _tree.Min / total, -beta);
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = _tree.Find(Math.Min((i + rng.NextDouble()) * segment, total));
            slots[i] = slot;
            weights[i] = (float)(Math.Pow(n * _tree[slot] / total, -beta) / largest);
        }
    }

    /// <summary>Sets each drawn transition's priority from its new TD error: p = |delta| + epsilon.</summary>
    public void Update(ReadOnlySpan<int> slots, ReadOnlySpan<float> errors)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            double priority = Math.Abs(errors[i]) + _epsilon;
            if (priority > _maxPriority) _maxPriority = priority;
            _tree.Set(slots[i], Math.Pow(priority, _alpha));
        }
    }

    /// <summary>Writes the priorities and the largest seen.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(_maxPriority);
        _tree.Save(writer);
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public void Load(BinaryReader reader)
    {
        _maxPriority = reader.ReadDouble();
        _tree.Load(reader);
    }
}
