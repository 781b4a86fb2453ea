using System.Diagnostics;
using System.Globalization;

namespace Hybrid.Training.Metrics;

/// <summary>
/// What the machine was doing around a run: the load average at its start, end and highest, and how many cores were
/// busy outside this process (from /proc/stat's busy time less this process's CPU time), on average and at the busiest
/// sample. <see cref="Busy"/> marks a run whose threads did not have the cores they needed.
/// </summary>
/// <param name="Cores">The machine's cores.</param>
/// <param name="ThreadsUsed">Threads the run kept busy (its threads plus helper threads).</param>
/// <param name="LoadAverageStart">The 1-minute load average when the run started (NaN where the system does not give one).</param>
/// <param name="LoadAverageEnd">...when it ended.</param>
/// <param name="LoadAverageMax">...the highest seen while it ran.</param>
/// <param name="OtherBusyCoresMean">Cores busy outside this process, averaged over the run (NaN where unknown).</param>
/// <param name="OtherBusyCoresMax">...over the busiest sampling interval (about a second).</param>
/// <param name="Samples">Sampling intervals measured.</param>
public sealed record MachineLoad(int Cores, int ThreadsUsed, double LoadAverageStart, double LoadAverageEnd, double LoadAverageMax,
    double OtherBusyCoresMean, double OtherBusyCoresMax, int Samples)
{
    /// <summary>
    /// Cores a run may find busy outside it beyond those its threads leave free before it is marked: half a core, so
    /// that a shell or a editor's indexer does not mark a quiet machine, while one other busy thread does.
    /// </summary>
    public const double Tolerance = 0.5;

    /// <summary>
    /// True when the machine had less free capacity than the run's threads: the cores busy outside it, on average,
    /// exceeded the cores its threads left free by more than <see cref="Tolerance"/>. A run with more threads than
    /// cores (oversubscribed, which compare and speedup mark apart) counts as needing every core, not more.
    /// </summary>
    public bool Busy => Recorded ?? (double.IsFinite(OtherBusyCoresMean) && Cores - OtherBusyCoresMean < Math.Min(ThreadsUsed, Cores) - Tolerance);

    /// <summary>The mark as summary.json recorded it (its figures are rounded there), or null to work it out from the figures.</summary>
    public bool? Recorded { get; init; }
}

/// <summary>
/// Samples the machine's load while a run goes (<see cref="Sample"/> about once a second from the thread that logs) and
/// this process's CPU time. Linux gives both from /proc; elsewhere the load is unknown (NaN) and the CPU time comes from
/// <see cref="Process.TotalProcessorTime"/>.
/// </summary>
public sealed class LoadSampler
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly int _cores = Environment.ProcessorCount;
    readonly double _loadStart;
    double _loadMax, _otherCoreSeconds, _otherMax = double.NaN, _measuredSeconds, _lastSampleSeconds;
    (long Busy, long Total)? _lastStat;
    double _lastCpu;
    int _samples;

    /// <summary>Starts sampling now: the load average and the counters the first interval is measured from.</summary>
    public LoadSampler()
    {
        _loadStart = _loadMax = LoadAverage();
        _lastStat = ProcStat();
        _lastCpu = ProcessCpuSeconds();
    }

    // /proc files opened once per process and read with pread at offset 0, which makes the kernel write them afresh:
    // a sample reads into a stack buffer and parses bytes, so the training loop that calls it allocates nothing.
    static readonly Lazy<Microsoft.Win32.SafeHandles.SafeFileHandle?> SelfStat = new(() => Open("/proc/self/stat"));
    static readonly Lazy<Microsoft.Win32.SafeHandles.SafeFileHandle?> Stat = new(() => Open("/proc/stat"));
    static readonly Lazy<Microsoft.Win32.SafeHandles.SafeFileHandle?> LoadAvg = new(() => Open("/proc/loadavg"));

    static Microsoft.Win32.SafeHandles.SafeFileHandle? Open(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Reads the start of a /proc file into <paramref name="buffer"/>; returns the bytes read (0 where it cannot).</summary>
    static int Read(Lazy<Microsoft.Win32.SafeHandles.SafeFileHandle?> file, Span<byte> buffer)
    {
        if (file.Value is not { } handle) return 0;
        try { return RandomAccess.Read(handle, buffer, 0); }
        catch (IOException) { return 0; }
    }

    /// <summary>The unsigned integer at <paramref name="at"/> (after spaces), and where it ends.</summary>
    static long Number(ReadOnlySpan<byte> text, ref int at)
    {
        while (at < text.Length && text[at] == (byte)' ') at++;
        long value = 0;
        int start = at;
        while (at < text.Length && text[at] >= (byte)'0' && text[at] <= (byte)'9') value = value * 10 + (text[at++] - (byte)'0');
        if (at == start) throw new FormatException("expected a number");
        return value;
    }

    /// <summary>This process's CPU seconds (every thread, user and system) since it started.</summary>
    public static double ProcessCpuSeconds()
    {
        // /proc/self/stat: utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux); count them
        // after the command name's closing parenthesis, which may itself hold spaces.
        Span<byte> buffer = stackalloc byte[1024];
        int n = Read(SelfStat, buffer);
        if (n > 0)
        {
            ReadOnlySpan<byte> text = buffer[..n];
            int at = text.LastIndexOf((byte)')') + 2;
            // Fields 3 to 13 after the name: state (a letter), then numbers; skip 11 fields to reach utime.
            for (int field = 3; field < 14 && at < text.Length; at++)
                if (text[at] == (byte)' ') field++;
            try
            {
                long user = Number(text, ref at), system = Number(text, ref at);
                return (user + system) / 100.0;
            }
            catch (FormatException) { }
        }
        using Process self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>The 1-minute load average (NaN where /proc/loadavg is not there).</summary>
    public static double LoadAverage()
    {
        Span<byte> buffer = stackalloc byte[128];
        int n = Read(LoadAvg, buffer);
        if (n == 0) return double.NaN;
        int space = buffer[..n].IndexOf((byte)' ');
        return space > 0 && double.TryParse(buffer[..space], NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : double.NaN;
    }

    /// <summary>All CPUs' busy and total time in ticks from /proc/stat's "cpu" line; busy is everything but idle and iowait (steal counts as busy: another guest had the core).</summary>
    static (long Busy, long Total)? ProcStat()
    {
        Span<byte> buffer = stackalloc byte[512];
        int n = Read(Stat, buffer);
        if (n < 4 || !buffer[..4].SequenceEqual("cpu "u8)) return null;
        ReadOnlySpan<byte> text = buffer[..n];
        int end = text.IndexOf((byte)'\n');
        if (end > 0) text = text[..end];
        int at = 4;
        long total = 0, idle = 0;
        try
        {
            // user nice system idle iowait irq softirq steal (guest and guest_nice are already inside user and nice).
            for (int i = 1; i <= 8 && at < text.Length; i++)
            {
                long v = Number(text, ref at);
                total += v;
                if (i is 4 or 5) idle += v;
            }
        }
        catch (FormatException) { return null; }
        return (total - idle, total);
    }

    /// <summary>Measures the interval since the last sample if at least <paramref name="minSeconds"/> have passed; returns whether it did.</summary>
    public bool Sample(double minSeconds = 1.0)
    {
        double now = _clock.Elapsed.TotalSeconds;
        if (now - _lastSampleSeconds < minSeconds) return false;
        double cpu = ProcessCpuSeconds();
        (long Busy, long Total)? stat = ProcStat();
        double load = LoadAverage();
        if (!(load <= _loadMax)) _loadMax = double.IsNaN(_loadMax) ? load : Math.Max(_loadMax, load);
        if (stat is { } s && _lastStat is { } last && s.Total > last.Total)
        {
            // Ticks are 1/100 s of one core; busy ticks not spent by this process were spent by others.
            double totalCoreSeconds = (s.Total - last.Total) / 100.0, busyCoreSeconds = (s.Busy - last.Busy) / 100.0;
            double interval = totalCoreSeconds / _cores;
            double other = Math.Max(0, busyCoreSeconds - (cpu - _lastCpu)) / interval;
            _otherCoreSeconds += other * interval;
            _measuredSeconds += interval;
            _otherMax = double.IsNaN(_otherMax) ? other : Math.Max(_otherMax, other);
            _samples++;
        }
        _lastStat = stat;
        _lastCpu = cpu;
        _lastSampleSeconds = now;
        return true;
    }

    /// <summary>Takes a last sample and returns the load over the run for a run of <paramref name="threadsUsed"/> threads.</summary>
    public MachineLoad Finish(int threadsUsed)
    {
        Sample(minSeconds: 0.05);
        double end = LoadAverage();
        return new MachineLoad(_cores, threadsUsed, _loadStart, end, double.IsNaN(_loadMax) ? end : Math.Max(_loadMax, end),
            _measuredSeconds > 0 ? _otherCoreSeconds / _measuredSeconds : double.NaN, _otherMax, _samples);
    }
}
