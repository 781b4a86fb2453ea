namespace Hybrid.Nn;

/// <summary>A named range of a model's flat parameter (and gradient) array.</summary>
public readonly record struct ParameterSlice(string Name, int Offset, int Count)
{
    /// <summary>This slice of a full parameter or gradient array.</summary>
    public Span<float> Of(Span<float> all) => all.Slice(Offset, Count);

    /// <inheritdoc cref="Of(Span{float})"/>
    public ReadOnlySpan<float> Of(ReadOnlySpan<float> all) => all.Slice(Offset, Count);
}

/// <summary>
/// Where each layer's parameters sit in one flat array. A model's parameters are one <c>float[]</c> and its
/// gradients a second of the same length (docs/architecture.md, "Network"), so copying theta to a thread's theta',
/// an optimizer step and a checkpoint are each one pass over one block.
/// </summary>
public sealed class ParameterLayout
{
    readonly List<ParameterSlice> _slices = [];

    /// <summary>Total number of parameters.</summary>
    public int Count { get; private set; }

    /// <summary>Every slice, in allocation order.</summary>
    public IReadOnlyList<ParameterSlice> Slices => _slices;

    /// <summary>Reserves <paramref name="count"/> parameters at the end of the array.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public ParameterSlice Allocate(string name, int count)
    {
        Guard.NonNegative(count, nameof(count));
        var slice = new ParameterSlice(name, Count, count);
        checked { Count += count; }
        _slices.Add(slice);
        return slice;
    }
}

/// <summary>The arena itself: one parameter array and one gradient array for a layout.</summary>
public sealed class ParameterArena
{
    /// <summary>Creates zeroed parameter and gradient arrays for <paramref name="layout"/>.</summary>
    public ParameterArena(ParameterLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        Parameters = new float[layout.Count];
        Gradients = new float[layout.Count];
    }

    /// <summary>The slices.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>theta: every parameter of the model.</summary>
    public float[] Parameters { get; }

    /// <summary>d loss / d theta, accumulated by backward passes.</summary>
    public float[] Gradients { get; }

    /// <summary>Sets every gradient to zero (before a new accumulation).</summary>
    public void ZeroGradients() => Array.Clear(Gradients);
}
