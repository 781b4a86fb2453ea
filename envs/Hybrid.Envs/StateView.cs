using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs;

/// <summary>
/// The structure-of-arrays state of all lanes: variable c of lane i at <c>origin[c * stride + i]</c>. Dynamics read
/// and write a group of lanes through it, whatever the group width.
/// </summary>
public readonly ref struct StateView
{
    readonly ref float _origin;
    readonly int _stride;

    /// <summary>A view over <paramref name="state"/> with <paramref name="stride"/> floats per variable.</summary>
    public StateView(Span<float> state, int stride)
    {
        _origin = ref state[0];
        _stride = stride;
    }

    /// <summary>Variable <paramref name="variable"/> of lanes <c>[lane, lane + L.Count)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public L Get<L>(int variable, int lane) where L : unmanaged, ILanes<L> =>
        L.Load(ref Unsafe.Add(ref _origin, variable * _stride), lane);

    /// <summary>Writes variable <paramref name="variable"/> of lanes <c>[lane, lane + L.Count)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set<L>(int variable, int lane, L value) where L : unmanaged, ILanes<L> =>
        L.Store(value, ref Unsafe.Add(ref _origin, variable * _stride), lane);

    /// <summary>Sets variable <paramref name="variable"/> to <paramref name="value"/> in the lanes of the group set in <paramref name="mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetWhere<L>(int variable, int lane, L mask, L value) where L : unmanaged, ILanes<L> =>
        Set(variable, lane, L.Select(mask, value, Get<L>(variable, lane)));

    /// <summary>
    /// Draws variable <paramref name="variable"/> uniform on <c>[low, high)</c> for the lanes set in
    /// <paramref name="mask"/>, from their random states in <paramref name="random"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Draw<L>(int variable, int lane, L mask, RandomLanes random, float low, float high) where L : unmanaged, ILanes<L> =>
        SetWhere(variable, lane, mask, random.Uniform(lane, mask, low, high));

    /// <summary>Variable <paramref name="variable"/> of one lane.</summary>
    public ref float this[int variable, int lane] => ref Unsafe.Add(ref _origin, variable * _stride + lane);
}
