using System.Globalization;

namespace Hybrid.Envs;

/// <summary>An action or observation space, as in Gymnasium's <c>gymnasium.spaces</c>.</summary>
public abstract record Space
{
    /// <summary>The element type of buffers in this space: <see cref="int"/> for discrete, <see cref="float"/> for boxes.</summary>
    public abstract Type ElementType { get; }

    /// <summary>Values per lane: 1 for a discrete space, the box size for a box.</summary>
    public abstract int Size { get; }
}

/// <summary>The integers <c>0 .. N-1</c> (Gymnasium's <c>Discrete(n)</c>), one int per lane.</summary>
/// <param name="N">Number of actions.</param>
public sealed record DiscreteSpace(int N) : Space
{
    /// <inheritdoc/>
    public override Type ElementType => typeof(int);

    /// <inheritdoc/>
    public override int Size => 1;

    /// <summary>Whether <paramref name="value"/> is an action of this space.</summary>
    public bool Contains(int value) => (uint)value < (uint)N;

    /// <inheritdoc/>
    public override string ToString() => $"Discrete({N})";
}

/// <summary>
/// A float32 box with per-element bounds (Gymnasium's <c>Box(low, high, dtype=float32)</c>); infinite bounds allowed
/// for observations.
/// </summary>
public sealed record BoxSpace : Space
{
    readonly float[] _low, _high;

    /// <summary>A box from its bounds.</summary>
    /// <exception cref="ArgumentException">The bounds differ in length, are empty, or some low exceeds its high.</exception>
    public BoxSpace(float[] low, float[] high)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (low.Length == 0 || low.Length != high.Length)
            throw new ArgumentException($"low has {low.Length} elements and high {high.Length}; expected the same non-zero count.", nameof(high));
        for (int i = 0; i < low.Length; i++)
            if (!(low[i] <= high[i]))
                throw new ArgumentException($"low[{i}] was {low[i]} and high[{i}] {high[i]}; expected low <= high.", nameof(low));
        _low = (float[])low.Clone();
        _high = (float[])high.Clone();
    }

    /// <summary>Lower bounds.</summary>
    public ReadOnlySpan<float> Low => _low;

    /// <summary>Upper bounds.</summary>
    public ReadOnlySpan<float> High => _high;

    /// <inheritdoc/>
    public override Type ElementType => typeof(float);

    /// <inheritdoc/>
    public override int Size => _low.Length;

    /// <summary>Whether element <paramref name="i"/> of a row may take <paramref name="value"/> (NaN never may).</summary>
    public bool Contains(int i, float value) => value >= _low[i] && value <= _high[i];

    /// <summary>Value equality over the bounds.</summary>
    public bool Equals(BoxSpace? other) => other is not null && _low.AsSpan().SequenceEqual(other._low) && _high.AsSpan().SequenceEqual(other._high);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_low.Length, _low[0], _high[0]);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Box([{string.Join(", ", _low)}], [{string.Join(", ", _high)}], float32)");
}
