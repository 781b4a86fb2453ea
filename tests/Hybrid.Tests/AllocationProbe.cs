namespace Hybrid.Tests;

/// <summary>Counting what a piece of code allocates on the calling thread, apart from the runtime's one-off work.</summary>
internal static class AllocationProbe
{
    /// <summary>
    /// The fewest bytes <paramref name="window"/> allocates on this thread over <paramref name="windows"/> calls: code
    /// that allocates does so in every call, while the runtime's own one-off work (a method tiering up late on a loaded
    /// machine: 3,880 bytes once in a full suite) lands in one at most.
    /// </summary>
    public static long FewestBytes(Action window, int windows = 3)
    {
        long fewest = long.MaxValue;
        for (int i = 0; i < windows; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
