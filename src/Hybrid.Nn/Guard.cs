using System.Diagnostics.CodeAnalysis;

namespace Hybrid.Nn;

/// <summary>
/// Argument checks for public entry points. Each throws through a separate non-inlined method so the
/// checked method stays small; messages name the argument, its value and what was expected.
/// </summary>
public static class Guard
{
    /// <summary>Throws unless <paramref name="value"/> &gt;= 0.</summary>
    public static void NonNegative(int value, string name)
    {
        if (value < 0) ThrowRange(name, value, "expected a value >= 0");
    }

    /// <summary>Throws unless <paramref name="value"/> &gt; 0.</summary>
    public static void Positive(int value, string name)
    {
        if (value <= 0) ThrowRange(name, value, "expected a value > 0");
    }

    /// <summary>Returns <paramref name="value"/> if it is &gt; 0, else throws (for field initializers).</summary>
    public static int PositiveValue(int value, string name)
    {
        Positive(value, name);
        return value;
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt; 0.</summary>
    public static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value)) ThrowRange(name, value, "expected a finite value > 0");
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt;= 0.</summary>
    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value)) ThrowRange(name, value, "expected a finite value >= 0");
    }

    /// <summary>Throws unless <paramref name="low"/> &lt;= <paramref name="value"/> &lt;= <paramref name="high"/>.</summary>
    public static void InRange(double value, double low, double high, string name)
    {
        if (!(value >= low && value <= high)) ThrowRange(name, value, $"expected a value in [{low}, {high}]");
    }

    /// <summary>Throws unless <paramref name="value"/> is in [<paramref name="low"/>, <paramref name="high"/>].</summary>
    public static void InRange(int value, int low, int high, string name)
    {
        if (value < low || value > high) ThrowRange(name, value, $"expected a value in [{low}, {high}]");
    }

    /// <summary>Throws unless the span holds at least <paramref name="required"/> elements.</summary>
    public static void AtLeast(int length, int required, string name)
    {
        if (length < required) ThrowLength(name, length, $"at least {required}");
    }

    /// <summary>Throws unless the span holds exactly <paramref name="required"/> elements.</summary>
    public static void Exactly(int length, int required, string name)
    {
        if (length != required) ThrowLength(name, length, $"exactly {required}");
    }

    /// <summary>Throws unless two spans have the same length.</summary>
    public static void SameLength(int length, int otherLength, string name, string otherName)
    {
        if (length != otherLength)
            throw new ArgumentException($"{name} has length {length} but {otherName} has length {otherLength}; expected equal lengths.", name);
    }

    /// <summary>Throws unless every element (i, j) of an [rows, cols] strided matrix lies inside the span.</summary>
    public static void Covers<T>(ReadOnlySpan<T> span, int rows, int cols, int rowStride, int colStride, string name)
    {
        if (rows == 0 || cols == 0) return;
        long last = (long)(rows - 1) * rowStride + (long)(cols - 1) * colStride;
        if (last >= span.Length)
            throw new ArgumentException(
                $"{name} has length {span.Length} but a {rows} x {cols} matrix with strides ({rowStride}, {colStride}) needs {last + 1}.", name);
    }

    /// <inheritdoc cref="Covers{T}(ReadOnlySpan{T}, int, int, int, int, string)"/>
    public static void Covers<T>(Span<T> span, int rows, int cols, int rowStride, int colStride, string name) =>
        Covers((ReadOnlySpan<T>)span, rows, cols, rowStride, colStride, name);

    [DoesNotReturn]
    static void ThrowRange(string name, object value, string expected) =>
        throw new ArgumentOutOfRangeException(name, value, $"{name} was {value}; {expected}.");

    [DoesNotReturn]
    static void ThrowLength(string name, int length, string expected) =>
        throw new ArgumentException($"{name} has length {length}; expected {expected}.", name);
}
