namespace Hybrid.Training.Replay;

/// <summary>
/// Priorities of a fixed number of slots in a binary tree whose inner nodes hold the sums (and, alongside, the minima)
/// of their subtrees, so that setting a priority, the total, the smallest priority and drawing a slot with probability
/// proportional to its priority each take O(log n) (Schaul et al. 2016, appendix B.2.1). Sums are in double precision
/// and every update recomputes its ancestors from their children, so rounding does not accumulate. Allocates nothing
/// after construction.
/// </summary>
public sealed class SumTree
{
    readonly double[] _sums, _mins;
    readonly int _leaves;

    /// <summary>A tree of <paramref name="capacity"/> slots, every priority 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not positive or too large.</exception>
    public SumTree(int capacity)
    {
        if (capacity < 1 || capacity > 1 << 29) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"capacity was {capacity}; expected 1 to {1 << 29}.");
        Capacity = capacity;
        _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _sums = new double[2 * _leaves];
        _mins = new double[2 * _leaves];
        Array.Fill(_mins, double.PositiveInfinity);
    }

    /// <summary>Slots.</summary>
    public int Capacity { get; }

    /// <summary>The sum of every priority.</summary>
    public double Total => _sums[1];

    /// <summary>The smallest priority above 0 (infinity while every priority is 0).</summary>
    public double Min => _mins[1];

    /// <summary>The priority of <paramref name="slot"/>.</summary>
    public double this[int slot] => _sums[_leaves + slot];

    /// <summary>Sets the priority of <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slot is outside the tree, or the priority is negative or not finite.</exception>
    public void Set(int slot, double priority)
    {
        if ((uint)slot >= (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"slot was {slot}; expected 0 to {Capacity - 1}.");
        if (!(priority >= 0) || double.IsInfinity(priority))
            throw new ArgumentOutOfRangeException(nameof(priority), priority, $"priority was {priority}; expected a finite number >= 0.");
        int node = _leaves + slot;
        _sums[node] = priority;
        _mins[node] = priority > 0 ? priority : double.PositiveInfinity;
        for (node /= 2; node >= 1; node /= 2)
        {
            _sums[node] = _sums[2 * node] + _sums[2 * node + 1];
            _mins[node] = Math.Min(_mins[2 * node], _mins[2 * node + 1]);
        }
    }

    /// <summary>
    /// The slot whose span of the cumulative priorities holds <paramref name="mass"/> (in [0, Total)): each slot is
    /// found for a share of [0, Total) equal to its priority. A slot of priority 0 is never returned, even for a mass
    /// at the very edge of the range that rounding may give.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every priority is 0.</exception>
    public int Find(double mass)
    {
        if (!(Total > 0)) throw new InvalidOperationException("every priority is 0; there is nothing to draw.");
        int node = 1;
        while (node < _leaves)
        {
            int left = 2 * node;
            // Go right only where the mass is past the left subtree and the right one has something to give.
            if (mass >= _sums[left] && _sums[left + 1] > 0)
            {
                mass -= _sums[left];
                node = left + 1;
            }
            else node = _sums[left] > 0 ? left : left + 1;
        }
        return node - _leaves;
    }

    /// <summary>Writes every slot's priority.</summary>
    public void Save(BinaryWriter writer)
    {
        BinaryState.WriteTag(writer, "sum tree");
        writer.Write(Capacity);
        BinaryState.Write<double>(writer, _sums.AsSpan(_leaves, Capacity));
    }

    /// <summary>Restores what <see cref="Save"/> wrote (the same capacity).</summary>
    /// <exception cref="InvalidDataException">It was another capacity, or is cut short.</exception>
    public void Load(BinaryReader reader)
    {
        BinaryState.ReadTag(reader, "sum tree");
        int capacity = reader.ReadInt32();
        if (capacity != Capacity) throw new InvalidDataException($"the saved priorities are of {capacity:N0} slots; this buffer has {Capacity:N0}.");
        var priorities = new double[capacity];
        BinaryState.Read<double>(reader, priorities, "priorities");
        for (int slot = 0; slot < capacity; slot++) Set(slot, priorities[slot]);
    }
}
