using Hybrid.Gpu.Kernels;

namespace Hybrid.Gpu;

/// <summary>
/// Puts the episode records a device logged (in slot order, which the kernels' atomics make arbitrary) in the order the
/// CPU stream reports episodes: by step, then lane. Two stable counting passes, lane first and then step, so a drain of
/// N records costs O(N + lanes + steps) and no comparisons: for the 400,000 records that 65,536 CartPole lanes log in
/// 31 updates early in training, about 10 ms against 35 ms for the comparison sort it replaces (the 2-core development
/// machine, load 3); the buffers are allocated once.
/// </summary>
internal sealed class EpisodeOrder
{
    readonly int[] _byLane, _byStep;
    readonly DeviceEpisode[] _scratch;

    /// <summary>Records of up to <paramref name="capacity"/> episodes of <paramref name="lanes"/> lanes over <paramref name="steps"/> vector steps.</summary>
    public EpisodeOrder(int lanes, int steps, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _byLane = new int[lanes + 1];
        _byStep = new int[steps + 1];
        _scratch = new DeviceEpisode[capacity];
    }

    /// <summary>Sorts <paramref name="records"/> in place by step, then lane.</summary>
    /// <exception cref="InvalidOperationException">A record's lane or step is outside the log's (a damaged log).</exception>
    public void Sort(Span<DeviceEpisode> records)
    {
        if (records.Length > _scratch.Length)
            throw new ArgumentException($"{records.Length} records; this order holds at most {_scratch.Length}.", nameof(records));
        Span<DeviceEpisode> scratch = _scratch.AsSpan(0, records.Length);
        Array.Clear(_byLane);
        foreach (DeviceEpisode e in records)
        {
            if ((uint)e.Lane >= (uint)(_byLane.Length - 1) || (uint)e.Step >= (uint)(_byStep.Length - 1))
                throw new InvalidOperationException($"the device logged an episode of lane {e.Lane} at step {e.Step}; the log has {_byLane.Length - 1} lanes and {_byStep.Length - 1} steps.");
            _byLane[e.Lane + 1]++;
        }
        for (int i = 1; i < _byLane.Length; i++) _byLane[i] += _byLane[i - 1];
        foreach (DeviceEpisode e in records) scratch[_byLane[e.Lane]++] = e;
        Array.Clear(_byStep);
        foreach (DeviceEpisode e in scratch) _byStep[e.Step + 1]++;
        for (int i = 1; i < _byStep.Length; i++) _byStep[i] += _byStep[i - 1];
        foreach (DeviceEpisode e in scratch) records[_byStep[e.Step]++] = e;
    }
}
