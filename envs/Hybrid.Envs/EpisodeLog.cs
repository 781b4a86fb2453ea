namespace Hybrid.Envs;

/// <summary>One finished episode.</summary>
/// <param name="Lane">The lane it ran in.</param>
/// <param name="Return">Undiscounted sum of its rewards.</param>
/// <param name="Length">Its number of steps.</param>
/// <param name="Terminated">True if it ended in a terminal state, false if only truncated by the time limit.</param>
public readonly record struct EpisodeRecord(int Lane, float Return, int Length, bool Terminated);

/// <summary>
/// Episodes finished since the last <see cref="Clear"/>, in the order they ended (by step, then by lane). The trainer
/// reads <see cref="Records"/> and clears; the buffer only grows (doubling) if it is not drained, so a drained log
/// allocates nothing per step.
/// </summary>
public sealed class EpisodeLog
{
    EpisodeRecord[] _records;
    int _count;

    internal EpisodeLog(int capacity) => _records = new EpisodeRecord[Math.Max(16, capacity)];

    /// <summary>Episodes waiting to be drained.</summary>
    public int Count => _count;

    /// <summary>Episodes finished since the env was created or last reset.</summary>
    public long TotalEpisodes { get; private set; }

    /// <summary>The waiting episodes, oldest first; valid until the next step or <see cref="Clear"/>.</summary>
    public ReadOnlySpan<EpisodeRecord> Records => _records.AsSpan(0, _count);

    /// <summary>Forgets the waiting episodes (the trainer has read them).</summary>
    public void Clear() => _count = 0;

    internal void AddRange(ReadOnlySpan<EpisodeRecord> records)
    {
        if (_count + records.Length > _records.Length) Array.Resize(ref _records, Math.Max(_records.Length * 2, _count + records.Length));
        records.CopyTo(_records.AsSpan(_count));
        _count += records.Length;
        TotalEpisodes += records.Length;
    }

    internal void Restore(ReadOnlySpan<EpisodeRecord> waiting, long total)
    {
        _count = 0;
        AddRange(waiting);
        TotalEpisodes = total;
    }

    internal void ResetTotals()
    {
        _count = 0;
        TotalEpisodes = 0;
    }
}
