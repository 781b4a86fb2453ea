using System.Diagnostics;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Parallel;

/// <summary>
/// theta, the shared optimizer's statistics (RMSProp's, or DQN's Adam) and a version counter, with the update modes of docs/architecture.md ("Shared parameters"). Workers call
/// <see cref="Apply"/> with their accumulated gradient; the same worker code runs under every mode:
/// <list type="bullet">
/// <item><c>hogwild</c>: the worker's thread runs the RMSProp step on theta directly, concurrently with the others (Mnih et al. 2016).</item>
/// <item><c>lock</c>: the same step inside one mutex.</item>
/// <item><c>server</c>: the gradient is copied into a free preallocated slot and queued; one applier thread applies slots in order.</item>
/// </list>
/// </summary>
public sealed class SharedParameters
{
    readonly IOptimizer _optimizer;
    readonly object _gate = new();
    readonly WorkerGroup _group;
    readonly float[][] _slots = [];
    readonly float[] _slotRates = [];
    readonly long[] _slotBasedOn = [];
    readonly RunMetrics? _metrics;
    readonly SlotQueue _free = new(1), _full = new(1);
    long _version;
    volatile bool _completing;

    /// <summary>
    /// Shares <paramref name="theta"/> among workers under <paramref name="mode"/>; a server mode starts its applier in
    /// <paramref name="group"/>, which reports the lag of the gradients it applies to <paramref name="metrics"/>.
    /// </summary>
    public SharedParameters(float[] theta, IOptimizer optimizer, UpdateMode mode, int workers, WorkerGroup group, RunMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(group);
        foreach ((string name, float[] values) in optimizer.State)
            if (values.Length != theta.Length)
                throw new ArgumentException($"optimizer statistic '{name}' has {values.Length} values; expected {theta.Length}, one per parameter.", nameof(optimizer));
        Theta = theta;
        _optimizer = optimizer;
        Mode = mode;
        _group = group;
        _metrics = metrics;
        if (mode != UpdateMode.Server) return;
        // Two slots per worker: a worker can queue one gradient while the applier works on its previous one.
        _slots = new float[2 * workers][];
        (_free, _full) = (new SlotQueue(_slots.Length), new SlotQueue(_slots.Length));
        _slotRates = new float[_slots.Length];
        _slotBasedOn = new long[_slots.Length];
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new float[theta.Length];
            _free.Add(i);
        }
        group.Start("applier", 0, _ => ApplierLoop());
    }

    /// <summary>theta, read by every worker.</summary>
    public float[] Theta { get; }

    /// <summary>How gradients are applied.</summary>
    public UpdateMode Mode { get; }

    /// <summary>Seconds the workers have waited to take the lock so far (lock mode; 0 otherwise).</summary>
    public double LockWaitSeconds => Interlocked.Read(ref _lockWaitTicks) / (double)Stopwatch.Frequency;

    long _lockWaitTicks;

    /// <summary>Updates applied to theta so far.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>
    /// Applies (or, in server mode, queues) one update. Returns false if the run is stopping and the gradient was dropped.
    /// The gradient's age, the policy lag (the version at apply minus <paramref name="basedOn"/>, the version read when
    /// the worker copied theta), goes to <paramref name="tally"/>; in server mode the applier measures it when it
    /// applies the slot and reports it to the metrics itself.
    /// </summary>
    public bool Apply(ReadOnlySpan<float> gradient, float learningRate, long basedOn, ref UpdateTally tally)
    {
        switch (Mode)
        {
            case UpdateMode.Hogwild:
                tally.AddLag(Step(gradient, learningRate) - basedOn);
                return true;
            case UpdateMode.Lock:
                long version, waiting = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    Interlocked.Add(ref _lockWaitTicks, Stopwatch.GetTimestamp() - waiting);
                    version = Step(gradient, learningRate);
                }
                tally.AddLag(version - basedOn);
                return true;
            default:
                int slot;
                while (!_free.TryTake(out slot, 20))
                    if (_group.StopRequested) return false;
                gradient.CopyTo(_slots[slot]);
                _slotRates[slot] = learningRate;
                _slotBasedOn[slot] = basedOn;
                _full.Add(slot);
                return true;
        }
    }

    /// <summary>One optimizer step; returns the version theta had when the step began (under Hogwild, others may be mid-step too).</summary>
    long Step(ReadOnlySpan<float> gradient, float learningRate)
    {
        long version = Version;
        _optimizer.Step(Theta, gradient, learningRate);
        Interlocked.Increment(ref _version);
        return version;
    }

    void ApplierLoop()
    {
        var tally = new UpdateTally();
        while (true)
        {
            if (_full.TryTake(out int slot, 20))
            {
                tally.AddLag(Step(_slots[slot], _slotRates[slot]) - _slotBasedOn[slot]);
                _free.Add(slot);
                if (_metrics is not null) tally.ReportTo(_metrics);
            }
            else if (_completing || _group.Faulted)
            {
                if (_metrics is not null) tally.ReportTo(_metrics, force: true);
                return;
            }
        }
    }

    /// <summary>Server mode: lets the applier finish the queued gradients and return. Call after the workers have stopped.</summary>
    public void Complete() => _completing = true;
}
