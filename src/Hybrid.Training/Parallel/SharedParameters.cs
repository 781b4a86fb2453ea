
namespace Hybrid.Training.Parallel;

/// <summary>
/// theta, the shared RMSProp statistics and a version counter, with the update modes of DESIGN.md. Workers call
/// <see cref="Apply"/> with their accumulated gradient; the same worker code runs under every mode:
/// <list type="bullet">
/// <item><c>hogwild</c>: the worker's thread runs the RMSProp step on theta directly, concurrently with the others (Mnih et al. 2016).</item>
/// <item><c>lock</c>: the same step inside one mutex.</item>
/// <item><c>server</c>: the gradient is copied into a free preallocated slot and queued; one applier thread applies slots in order.</item>
/// </list>
/// </summary>
public sealed class SharedParameters
{
    readonly RmsProp _optimizer;
    readonly object _gate = new();
    readonly WorkerGroup _group;
    readonly float[][] _slots = [];
    readonly float[] _slotRates = [];
    readonly SlotQueue _free = new(1), _full = new(1);
    long _version;
    volatile bool _completing;

    /// <summary>Shares <paramref name="theta"/> among workers under <paramref name="mode"/>; a server mode starts its applier in <paramref name="group"/>.</summary>
    public SharedParameters(float[] theta, RmsProp optimizer, UpdateMode mode, int workers, WorkerGroup group)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(group);
        if (optimizer.Statistics.Length != theta.Length)
            throw new ArgumentException($"optimizer has {optimizer.Statistics.Length} statistics; expected {theta.Length}, one per parameter.", nameof(optimizer));
        Theta = theta;
        _optimizer = optimizer;
        Mode = mode;
        _group = group;
        if (mode != UpdateMode.Server) return;
        // Two slots per worker: a worker can queue one gradient while the applier works on its previous one.
        _slots = new float[2 * workers][];
        (_free, _full) = (new SlotQueue(_slots.Length), new SlotQueue(_slots.Length));
        _slotRates = new float[_slots.Length];
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

    /// <summary>Updates applied to theta so far.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Applies (or, in server mode, queues) one update. Returns false if the run is stopping and the gradient was dropped.</summary>
    public bool Apply(ReadOnlySpan<float> gradient, float learningRate)
    {
        switch (Mode)
        {
            case UpdateMode.Hogwild:
                Step(gradient, learningRate);
                return true;
            case UpdateMode.Lock:
                lock (_gate) Step(gradient, learningRate);
                return true;
            default:
                int slot;
                while (!_free.TryTake(out slot, 20))
                    if (_group.StopRequested) return false;
                gradient.CopyTo(_slots[slot]);
                _slotRates[slot] = learningRate;
                _full.Add(slot);
                return true;
        }
    }

    void Step(ReadOnlySpan<float> gradient, float learningRate)
    {
        _optimizer.Step(Theta, gradient, learningRate);
        Interlocked.Increment(ref _version);
    }

    void ApplierLoop()
    {
        while (true)
        {
            if (_full.TryTake(out int slot, 20))
            {
                Step(_slots[slot], _slotRates[slot]);
                _free.Add(slot);
            }
            else if (_completing || _group.Faulted) return;
        }
    }

    /// <summary>Server mode: lets the applier finish the queued gradients and return. Call after the workers have stopped.</summary>
    public void Complete() => _completing = true;
}
