using System.Runtime.CompilerServices;

namespace Hybrid.Envs.MinAtar;

/// <summary>
/// A MinAtar observation as bits: bit <c>c * 100 + y * 10 + x</c> is cell (x, y) of channel c, the same index as the
/// float in the channel-first row <c>[C x 10 x 10]</c>. Games render into it; the env writes only the floats whose bit
/// changed since the last step, which keeps a step from rewriting 100 C floats per lane.
/// </summary>
[InlineArray(Words)]
public struct ObsBits
{
    /// <summary>Words that hold the most channels a game has (10 x 100 bits), plus one so that a 100-bit grid ORed
    /// at any channel offset never needs a bounds test.</summary>
    public const int Words = 17;

    ulong _word0;

    /// <summary>Sets cell (<paramref name="x"/>, <paramref name="y"/>) of <paramref name="channel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int channel, int x, int y)
    {
        int k = channel * Grid.Cells + y * Grid.Side + x;
        this[k >> 6] |= 1UL << k; // a ulong shift uses the count's low 6 bits: k mod 64
    }

    /// <summary>Whether cell (<paramref name="x"/>, <paramref name="y"/>) of <paramref name="channel"/> is set.</summary>
    public readonly bool Get(int channel, int x, int y)
    {
        int k = channel * Grid.Cells + y * Grid.Side + x;
        return (this[k >> 6] >> k & 1) != 0;
    }

    /// <summary>Sets, in <paramref name="channel"/>, every cell set in <paramref name="grid"/> (a <see cref="Grid"/> bit set).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Or(int channel, UInt128 grid)
    {
        int offset = channel * Grid.Cells, w = offset >> 6, s = offset & 63;
        ulong lo = (ulong)grid, hi = (ulong)(grid >> 64); // hi holds cells 64..99: 36 bits
        if (s == 0)
        {
            this[w] |= lo;
            this[w + 1] |= hi;
            return;
        }
        this[w] |= lo << s;
        this[w + 1] |= lo >> (64 - s) | hi << s;
        this[w + 2] |= hi >> (64 - s);
    }
}

/// <summary>
/// A 10 x 10 grid of booleans as the low 100 bits of a <see cref="UInt128"/>: bit <c>y * 10 + x</c> is cell (x, y),
/// row 0 at the top. Moving every cell down a row is a shift by 10, sideways a shift by 1.
/// </summary>
public static class Grid
{
    /// <summary>Cells per side.</summary>
    public const int Side = 10;

    /// <summary>Cells per grid.</summary>
    public const int Cells = Side * Side;

    /// <summary>All 100 cells.</summary>
    public static readonly UInt128 All = (UInt128.One << Cells) - 1;

    /// <summary>The cell (x, y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 Cell(int x, int y) => UInt128.One << (y * Side + x);

    /// <summary>Whether cell (x, y) is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Has(UInt128 grid, int x, int y) => ((grid >> (y * Side + x)) & UInt128.One) != UInt128.Zero;

    /// <summary>Every cell of row y.</summary>
    public static UInt128 Row(int y) => (UInt128)0x3FF << (y * Side);

    /// <summary>Every cell of column x.</summary>
    public static UInt128 Column(int x)
    {
        UInt128 column = 0;
        for (int y = 0; y < Side; y++) column |= Cell(x, y);
        return column;
    }

    /// <summary>Rows <paramref name="top"/> .. <paramref name="bottom"/>, columns <paramref name="left"/> .. <paramref name="right"/>.</summary>
    public static UInt128 Block(int left, int right, int top, int bottom)
    {
        UInt128 block = 0;
        for (int y = top; y <= bottom; y++)
            for (int x = left; x <= right; x++) block |= Cell(x, y);
        return block;
    }

    /// <summary>Number of cells set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(UInt128 grid) => (int)UInt128.PopCount(grid);
}
