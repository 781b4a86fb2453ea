namespace Hybrid.Training.Replay;

/// <summary>
/// A ring of transitions (s, a, R, discount, s') in structure-of-arrays, allocated once at its capacity: R is the
/// (n-step) return the transition carries, discount what multiplies the bootstrap from s' (gamma^n, or 0 where the
/// episode terminated). The action is a discrete action's index or a box action's floats (<see cref="BoxActionSize"/>).
/// Once full, each new transition replaces the oldest (FIFO eviction). Adding, sampling and gathering allocate nothing.
/// </summary>
public sealed class ReplayBuffer
{
    readonly float[] _observations, _next, _rewards, _discounts;
    // One float per discrete action (its index, exact up to 2^24), or a box action's floats.
    readonly float[] _actions;

    /// <summary>
    /// A buffer of <paramref name="capacity"/> transitions of observations of <paramref name="observationSize"/> floats,
    /// with discrete actions, or with box actions of <paramref name="boxActionSize"/> floats when it is above 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the arrays would be too long to index.</exception>
    public ReplayBuffer(int capacity, int observationSize, int boxActionSize = 0)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"capacity was {capacity}; expected >= 1 transition.");
        if (observationSize < 1) throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, $"observationSize was {observationSize}; expected >= 1.");
        if (boxActionSize < 0) throw new ArgumentOutOfRangeException(nameof(boxActionSize), boxActionSize, $"boxActionSize was {boxActionSize}; expected >= 0 (0: discrete actions).");
        if ((long)capacity * Math.Max(observationSize, boxActionSize) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"capacity was {capacity:N0} transitions of {observationSize} floats; an array holds at most {Array.MaxLength:N0} floats. Use a smaller buffer_size.");
        (Capacity, ObservationSize, BoxActionSize) = (capacity, observationSize, boxActionSize);
        _observations = new float[capacity * observationSize];
        _next = new float[capacity * observationSize];
        _rewards = new float[capacity];
        _discounts = new float[capacity];
        _actions = new float[capacity * ActionWidth];
    }

    /// <summary>Bytes a buffer of <paramref name="capacity"/> transitions of <paramref name="observationSize"/> floats (and box actions of <paramref name="boxActionSize"/>) holds, for the memory estimate.</summary>
    public static double BytesFor(long capacity, int observationSize, int boxActionSize = 0) =>
        capacity * (2.0 * observationSize * sizeof(float) + (2 + Math.Max(1, boxActionSize)) * sizeof(float));

    /// <summary>Floats per box action; 0 for discrete actions.</summary>
    public int BoxActionSize { get; }

    /// <summary>Floats each transition's action takes.</summary>
    int ActionWidth => Math.Max(1, BoxActionSize);

    /// <summary>Transitions the buffer can hold.</summary>
    public int Capacity { get; }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Transitions held (at most the capacity).</summary>
    public int Count { get; private set; }

    /// <summary>Transitions added since the buffer was made (evicted ones included).</summary>
    public long Added { get; private set; }

    /// <summary>Called with each slot a transition is written to (prioritized replay gives it its priority).</summary>
    public Action<int>? SlotWritten { get; set; }

    /// <summary>Where the next transition goes: the oldest slot once the buffer is full.</summary>
    public int Next => (int)(Added % Capacity);

    /// <summary>Adds a transition of a discrete action; returns its slot.</summary>
    /// <exception cref="ArgumentException">An observation has the wrong length, or the buffer holds box actions.</exception>
    public int Add(ReadOnlySpan<float> observation, int action, float reward, float discount, ReadOnlySpan<float> next)
    {
        if (BoxActionSize > 0) throw new ArgumentException($"the buffer holds box actions of {BoxActionSize} floats; this transition's action is discrete.", nameof(action));
        return AddRow(observation, [action], reward, discount, next);
    }

    /// <summary>Adds a transition of a box action; returns its slot.</summary>
    /// <exception cref="ArgumentException">An observation or the action has the wrong length.</exception>
    public int Add(ReadOnlySpan<float> observation, ReadOnlySpan<float> action, float reward, float discount, ReadOnlySpan<float> next)
    {
        if (BoxActionSize == 0 || action.Length != BoxActionSize)
            throw new ArgumentException($"the action has {action.Length} floats; the buffer holds {(BoxActionSize == 0 ? "discrete actions" : $"box actions of {BoxActionSize}")}.", nameof(action));
        return AddRow(observation, action, reward, discount, next);
    }

    /// <summary>Adds a transition whose action is its row of floats (a discrete action's index as one float); returns its slot.</summary>
    internal int AddRow(ReadOnlySpan<float> observation, ReadOnlySpan<float> action, float reward, float discount, ReadOnlySpan<float> next)
    {
        if (observation.Length != ObservationSize || next.Length != ObservationSize)
            throw new ArgumentException($"the observations have {observation.Length} and {next.Length} floats; the buffer holds {ObservationSize}.", nameof(observation));
        int slot = Next, width = ActionWidth;
        observation.CopyTo(_observations.AsSpan(slot * ObservationSize, ObservationSize));
        next.CopyTo(_next.AsSpan(slot * ObservationSize, ObservationSize));
        action.CopyTo(_actions.AsSpan(slot * width, width));
        (_rewards[slot], _discounts[slot]) = (reward, discount);
        Added++;
        if (Count < Capacity) Count++;
        SlotWritten?.Invoke(slot);
        return slot;
    }

    /// <summary>Forgets every transition (an actor's send buffer, once sent).</summary>
    public void Clear()
    {
        Added = 0;
        Count = 0;
    }

    /// <summary>Fills <paramref name="slots"/> with slots drawn uniformly, with replacement, from the transitions held.</summary>
    /// <exception cref="InvalidOperationException">The buffer is empty.</exception>
    public void SampleUniform(Rng rng, Span<int> slots)
    {
        if (Count == 0) throw new InvalidOperationException("the replay buffer is empty; nothing to sample.");
        for (int i = 0; i < slots.Length; i++) slots[i] = rng.NextInt(Count);
    }

    /// <summary>Copies the transitions at <paramref name="slots"/> (of discrete actions) into a batch, row after row.</summary>
    public void Gather(ReadOnlySpan<int> slots, Span<float> observations, Span<int> actions, Span<float> rewards, Span<float> discounts, Span<float> next)
    {
        GatherRows(slots, observations, rewards, discounts, next);
        for (int i = 0; i < slots.Length; i++) actions[i] = (int)_actions[slots[i]];
    }

    /// <summary>Copies the transitions at <paramref name="slots"/> (of box actions) into a batch, row after row; the actions <see cref="BoxActionSize"/> floats each.</summary>
    public void Gather(ReadOnlySpan<int> slots, Span<float> observations, Span<float> actions, Span<float> rewards, Span<float> discounts, Span<float> next)
    {
        GatherRows(slots, observations, rewards, discounts, next);
        int width = ActionWidth;
        for (int i = 0; i < slots.Length; i++) _actions.AsSpan(slots[i] * width, width).CopyTo(actions.Slice(i * width, width));
    }

    void GatherRows(ReadOnlySpan<int> slots, Span<float> observations, Span<float> rewards, Span<float> discounts, Span<float> next)
    {
        int size = ObservationSize;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            _observations.AsSpan(slot * size, size).CopyTo(observations.Slice(i * size, size));
            _next.AsSpan(slot * size, size).CopyTo(next.Slice(i * size, size));
            (rewards[i], discounts[i]) = (_rewards[slot], _discounts[slot]);
        }
    }

    /// <summary>The (discrete) action, return and discount of the transition at <paramref name="slot"/> (tests and checks).</summary>
    public (int Action, float Reward, float Discount) At(int slot) => ((int)_actions[slot * ActionWidth], _rewards[slot], _discounts[slot]);

    /// <summary>The action of the transition at <paramref name="slot"/> as its floats (a discrete action's index as one).</summary>
    public ReadOnlySpan<float> ActionAt(int slot) => _actions.AsSpan(slot * ActionWidth, ActionWidth);

    /// <summary>The observation and next observation of the transition at <paramref name="slot"/>.</summary>
    public (ReadOnlyMemory<float> Observation, ReadOnlyMemory<float> Next) ObservationsAt(int slot) =>
        (_observations.AsMemory(slot * ObservationSize, ObservationSize), _next.AsMemory(slot * ObservationSize, ObservationSize));

    /// <summary>Writes the transitions held and the ring's position.</summary>
    public void Save(BinaryWriter writer)
    {
        BinaryState.WriteTag(writer, "replay");
        writer.Write(Capacity);
        writer.Write(ObservationSize);
        writer.Write(BoxActionSize);
        writer.Write(Added);
        writer.Write(Count);
        int floats = Count * ObservationSize;
        BinaryState.Write<float>(writer, _observations.AsSpan(0, floats));
        BinaryState.Write<float>(writer, _next.AsSpan(0, floats));
        BinaryState.Write<float>(writer, _actions.AsSpan(0, Count * ActionWidth));
        BinaryState.Write<float>(writer, _rewards.AsSpan(0, Count));
        BinaryState.Write<float>(writer, _discounts.AsSpan(0, Count));
    }

    /// <summary>Restores what <see cref="Save"/> wrote into this buffer, which must have the same shape.</summary>
    /// <exception cref="InvalidDataException">The saved buffer has another shape, or is cut short.</exception>
    public void Load(BinaryReader reader)
    {
        BinaryState.ReadTag(reader, "replay");
        int capacity = reader.ReadInt32(), size = reader.ReadInt32(), box = reader.ReadInt32();
        if (capacity != Capacity || size != ObservationSize || box != BoxActionSize)
            throw new InvalidDataException($"the saved replay buffer holds {capacity:N0} transitions of {size} floats (box actions of {box}); this run's holds {Capacity:N0} of {ObservationSize} (box actions of {BoxActionSize}).");
        long added = reader.ReadInt64();
        int count = reader.ReadInt32();
        if (count < 0 || count > Capacity || added < count) throw new InvalidDataException($"the saved replay buffer says it holds {count} of {added} transitions added.");
        int floats = count * ObservationSize;
        BinaryState.Read<float>(reader, _observations.AsSpan(0, floats), "replay observations");
        BinaryState.Read<float>(reader, _next.AsSpan(0, floats), "replay next observations");
        BinaryState.Read<float>(reader, _actions.AsSpan(0, count * ActionWidth), "replay actions");
        BinaryState.Read<float>(reader, _rewards.AsSpan(0, count), "replay rewards");
        BinaryState.Read<float>(reader, _discounts.AsSpan(0, count), "replay discounts");
        (Added, Count) = (added, count);
    }
}
