namespace Hybrid.Training.Parallel;

/// <summary>
/// A bounded first-in first-out queue of slot indices, for handing preallocated buffers between threads by index
/// (TorchBeast's free and full queues). A ring buffer under one monitor: unlike BlockingCollection, whose queue
/// allocates segments as items flow through it, adding and taking allocate nothing.
/// </summary>
public sealed class SlotQueue
{
    readonly int[] _items;
    int _head, _count;

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
            if (_count == _items.Length) throw new InvalidOperationException($"SlotQueue is full ({_items.Length} slots); a slot was added twice.");
            _items[(_head + _count) % _items.Length] = slot;
            _count++;
            Monitor.Pulse(_items);
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
            slot = _items[_head];
            _head = (_head + 1) % _items.Length;
            _count--;
            return true;
        }
    }
}
