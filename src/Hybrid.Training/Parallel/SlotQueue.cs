namespace Hybrid.Training.Parallel;

/// <summary>
/// A bounded first-in first-out queue of slot indices, for handing preallocated buffers between threads by index
/// (TorchBeast's free and full queues). A ring buffer under one monitor: unlike BlockingCollection, whose queue
/// allocates segments as items flow through it, adding and taking allocate nothing. Asynchronous takers (a grain
/// waiting for a free slot) wait on a task that the next <see cref="Add"/> completes, instead of polling.
/// </summary>
public sealed class SlotQueue
{
    readonly int[] _items;
    int _head, _count;
    Queue<TaskCompletionSource<int>>? _waiters;

    /// <summary>A queue that holds up to <paramref name="capacity"/> indices.</summary>
    public SlotQueue(int capacity)
    {
        Nn.Guard.Positive(capacity, nameof(capacity));
        _items = new int[capacity];
    }

    /// <summary>Indices waiting.</summary>
    public int Count
    {
        get { lock (_items) return _count; }
    }

    /// <summary>Appends <paramref name="slot"/>.</summary>
    /// <exception cref="InvalidOperationException">The queue is full: more slots were handed around than it was built for.</exception>
    public void Add(int slot)
    {
        lock (_items)
        {
            // An asynchronous taker waiting gets the slot at once (one whose wait was cancelled is passed over).
            while (_waiters is { Count: > 0 })
                if (_waiters.Dequeue().TrySetResult(slot)) return;
            if (_count == _items.Length) throw new InvalidOperationException($"SlotQueue is full ({_items.Length} slots); a slot was added twice.");
            _items[(_head + _count) % _items.Length] = slot;
            _count++;
            Monitor.Pulse(_items);
        }
    }

    /// <summary>
    /// Takes the oldest index, or waits for the next one added, without holding a thread; cancelled by
    /// <paramref name="cancel"/> (the task then throws <see cref="OperationCanceledException"/>).
    /// </summary>
    public Task<int> TakeAsync(CancellationToken cancel)
    {
        lock (_items)
        {
            if (_count > 0) return Task.FromResult(TakeLocked());
            cancel.ThrowIfCancellationRequested();
            var waiter = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            (_waiters ??= new()).Enqueue(waiter);
            if (cancel.CanBeCanceled) cancel.Register(() => waiter.TrySetCanceled(cancel));
            return waiter.Task;
        }
    }

    /// <summary>Takes the oldest index, waiting up to <paramref name="timeoutMilliseconds"/>; false if none came.</summary>
    public bool TryTake(out int slot, int timeoutMilliseconds)
    {
        lock (_items)
        {
            if (_count == 0 && !Monitor.Wait(_items, timeoutMilliseconds) || _count == 0)
            {
                slot = -1;
                return false;
            }
            slot = TakeLocked();
            return true;
        }
    }

    int TakeLocked()
    {
        int slot = _items[_head];
        _head = (_head + 1) % _items.Length;
        _count--;
        return slot;
    }
}
