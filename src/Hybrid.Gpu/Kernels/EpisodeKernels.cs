using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// The solve window on the device: the returns of the last 100 episodes in the order the host counts them (by step, then
/// lane), their count, and whether their mean has reached the threshold, kept across updates so that the host reads a
/// few bytes per update instead of every episode record.
/// </summary>
public struct WindowViews
{
    /// <summary>The rollout's returns per (step t, lane) at t * N + lane: the return of the episode that lane ended at step t, NaN where none ended.</summary>
    public ArrayView<float> Ended;
    /// <summary>The window's returns, a ring of <see cref="EpisodeKernels.Window"/> entries, oldest at <c>State[Head]</c>.</summary>
    public ArrayView<float> Ring;
    /// <summary>Head, count, solved (0 or 1), the update it was solved at.</summary>
    public ArrayView<int> State;
    /// <summary>The window's mean return.</summary>
    public ArrayView<float> Mean;
    /// <summary>Per thread of the group: episodes in its share of the rollout.</summary>
    public ArrayView<int> Counts;
    public int Cells;
    public float Threshold;
    /// <summary>Updates before this one (the one solved at is stored).</summary>
    public int Update;
}

/// <summary>Episode bookkeeping kernels: the solve window, and a warp-aggregated slot in the episode log.</summary>
public static class EpisodeKernels
{
    /// <summary>Episodes in the solve window (the last 100, as the host's train-last-100 criterion).</summary>
    public const int Window = 100;
    public const int Head = 0, Count = 1, Solved = 2, SolvedAt = 3, StateSize = 4;

    /// <summary>
    /// One group: this rollout's episodes into the window. Each thread counts the episodes in its share of the (step,
    /// lane) cells, taken newest first; a prefix over the threads ranks every episode from the newest; the newest
    /// min(m, 100) go into the ring in order; then one thread advances the ring, sums it oldest first in double precision
    /// and marks the window solved the first time its mean reaches the threshold with 100 episodes in it.
    /// </summary>
    [Kernel]
    public static void Update(WindowViews w)
    {
        int group = Group.DimX, thread = Group.IdxX, share = (w.Cells + group - 1) / group;
        int from = thread * share, to = from + share < w.Cells ? from + share : w.Cells;
        // Index k counts back from the newest cell: cell Cells - 1 - k.
        int mine = 0;
        for (int k = from; k < to; k++)
            if (!float.IsNaN(w.Ended[w.Cells - 1 - k])) mine++;
        w.Counts[thread] = mine;
        Group.Barrier();
        if (thread == 0)
        {
            int running = 0;
            for (int i = 0; i < group; i++)
            {
                int c = w.Counts[i];
                w.Counts[i] = running;
                running += c;
            }
            w.Counts[group] = running;
        }
        Group.Barrier();
        int total = w.Counts[group], keep = total < Window ? total : Window, head = w.State[Head];
        int rank = w.Counts[thread];
        for (int k = from; k < to && rank < keep; k++)
        {
            float value = w.Ended[w.Cells - 1 - k];
            if (float.IsNaN(value)) continue;
            // rank 0 is the newest: it lands last of the new entries, after the ones it displaces.
            w.Ring[(head + keep - 1 - rank) % Window] = value;
            rank++;
        }
        Group.Barrier();
        if (thread != 0) return;
        head = (head + keep) % Window;
        int count = w.State[Count] + total < Window ? w.State[Count] + total : Window;
        w.State[Head] = head;
        w.State[Count] = count;
        double sum = 0;
        for (int i = 0; i < count; i++) sum += w.Ring[(head + Window - count + i) % Window];
        float mean = count > 0 ? (float)(sum / count) : 0f;
        w.Mean[0] = mean;
        if (w.State[Solved] == 0 && count == Window && mean >= w.Threshold)
        {
            w.State[Solved] = 1;
            w.State[SolvedAt] = w.Update;
        }
    }

    /// <summary>
    /// A slot in the episode log for each thread of the warp whose <paramref name="ended"/> is true, with one atomic per
    /// warp instead of one per episode (with <paramref name="aggregate"/>): a prefix over the warp's flags, the last lane's
    /// total added to the counter by the first lane, the base shuffled to all; every thread of the warp must call it. The
    /// others get -1. Without it, an atomic per episode: on ILGPU's CPU accelerator a shuffle waits for the warp's
    /// threads, which costs far more than the atomic it saves.
    /// </summary>
    public static int WarpSlot(bool ended, ArrayView<int> counter, int aggregate)
    {
        if (aggregate == 0) return ended ? Atomic.Add(ref counter[0], 1) : -1;
        int flag = ended ? 1 : 0, inclusive = flag, lane = Warp.LaneIdx, size = Warp.WarpSize;
        for (int d = 1; d < size; d *= 2)
        {
            int below = Warp.ShuffleUp(inclusive, d);
            if (lane >= d) inclusive += below;
        }
        int total = Warp.Shuffle(inclusive, size - 1);
        int first = 0;
        if (lane == 0 && total > 0) first = Atomic.Add(ref counter[0], total);
        first = Warp.Shuffle(first, 0);
        return ended ? first + inclusive - flag : -1;
    }
}
