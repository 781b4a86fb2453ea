namespace Hybrid.Threading;

/// <summary>One kernel call cut into parts by rows; a part runs on one thread.</summary>
public interface IRowJob
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    void Execute(int part, int parts);
}

/// <summary>
/// Persistent background threads that run the parts of one kernel call beside the calling thread, which runs
/// part 0 itself. One call at a time: a caller that finds the splitter busy is told so and runs alone. No
/// delegate or allocation per call; a worker's exception is rethrown on the caller with the worker's id.
/// A worker spins for <see cref="SpinMicroseconds"/> after each call before it blocks: the products of one
/// training step follow each other within microseconds, and waking a blocked thread costs more than a split
/// product saves.
/// </summary>
public sealed class RowSplitter
{
    readonly string _role;

    /// <summary>How long an idle worker polls for the next call before it sleeps.</summary>
    public const int SpinMicroseconds = 200;

    readonly SemaphoreSlim[] _start;
    int _generation;
    int _pending;
    readonly object _gate = new();
    IRowJob? _job;
    int _parts;
    Exception? _error;
    int _errorWorker;

    /// <summary>
    /// A pool of <paramref name="workers"/> threads named for their <paramref name="role"/> (hybrid-kernel-1, ...).
    /// Env stepping, the neural-network kernels and A2C's lane groups each keep one (<see cref="Envs"/>, <see cref="Kernels"/>, <see cref="LaneGroups"/>), so
    /// that a lane group running on one pool can still split its kernels on another.
    /// </summary>
    public RowSplitter(string role, int workers)
    {
        ArgumentNullException.ThrowIfNull(role);
        _role = role;
        _start = new SemaphoreSlim[Math.Max(0, workers)];
        for (int w = 0; w < _start.Length; w++)
        {
            _start[w] = new SemaphoreSlim(0);
            var thread = new Thread(WorkerLoop) { IsBackground = true, Name = $"hybrid-{role}-{w + 1}" };
            thread.Start(w);
        }
    }

    static readonly Lazy<RowSplitter> s_envs = new(() => ForEachCore("env")), s_kernels = new(() => ForEachCore("kernel")),
        s_laneGroups = new(() => ForEachCore("trainer"));

    /// <summary>The pool that steps env lanes (Hybrid.Envs).</summary>
    public static RowSplitter Envs => s_envs.Value;

    /// <summary>The pool that splits the neural-network kernels (Hybrid.Nn's GEMM).</summary>
    public static RowSplitter Kernels => s_kernels.Value;

    /// <summary>The pool that runs A2C's lane groups on the CPU (Hybrid.Training); their kernels split on <see cref="Kernels"/>.</summary>
    public static RowSplitter LaneGroups => s_laneGroups.Value;

    /// <summary>A pool for <paramref name="role"/> with one worker per core beyond the caller's.</summary>
    public static RowSplitter ForEachCore(string role) => new(role, Environment.ProcessorCount - 1);

    /// <summary>Most parts one call can run at once: the workers plus the caller.</summary>
    public int MaxParts => _start.Length + 1;

    /// <summary>
    /// Runs <paramref name="job"/> in <paramref name="parts"/> parts (at most <see cref="MaxParts"/>) and waits for
    /// all of them. Returns false, having run nothing, when another call holds the splitter.
    /// </summary>
    /// <exception cref="InvalidOperationException">A worker's part threw; the message names the worker.</exception>
    public bool TryRun(IRowJob job, int parts)
    {
        if (!Monitor.TryEnter(_gate)) return false;
        try
        {
            parts = Math.Clamp(parts, 1, MaxParts);
            _job = job;
            _parts = parts;
            _error = null;
            Volatile.Write(ref _pending, parts - 1);
            Interlocked.Increment(ref _generation);
            // A spinning worker sees the new generation; a sleeping one needs the permit. A permit left over by a
            // worker that was spinning only makes that worker look at the generation once more.
            for (int w = 0; w < parts - 1; w++) _start[w].Release();
            try
            {
                job.Execute(0, parts);
            }
            finally
            {
                // The caller would sit idle anyway: spin, yielding now and then, rather than sleep and pay a wake-up.
                var spinner = new SpinWait();
                while (Volatile.Read(ref _pending) != 0) spinner.SpinOnce(sleep1Threshold: -1);
                _job = null;
            }
            if (_error is not null)
                throw new InvalidOperationException($"{_role} worker {_errorWorker} failed: {_error.Message}", _error);
            return true;
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    void WorkerLoop(object? state)
    {
        int w = (int)state!, seen = 0;
        long spinTicks = System.Diagnostics.Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        while (true)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + spinTicks;
            while (Volatile.Read(ref _generation) == seen && System.Diagnostics.Stopwatch.GetTimestamp() < until)
                Thread.SpinWait(16);
            while (Volatile.Read(ref _generation) == seen) _start[w].Wait();
            seen = Volatile.Read(ref _generation);
            if (w + 1 >= _parts) continue; // this call needs fewer parts than there are workers
            try
            {
                _job!.Execute(w + 1, _parts);
            }
            catch (Exception e)
            {
                if (Interlocked.CompareExchange(ref _error, e, null) is null) _errorWorker = w + 1;
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }
}
