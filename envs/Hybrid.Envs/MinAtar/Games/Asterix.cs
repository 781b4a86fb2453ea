using System.Runtime.CompilerServices;

namespace Hybrid.Envs.MinAtar.Games;

/// <summary>
/// MinAtar Asterix (RULES.md section 3): the player walks in four directions; enemies (death) and gold (+1) cross
/// rows 1-8 from the left or right edge, one object per row; spawning and movement speed up every 102 steps.
/// </summary>
public struct Asterix : IMinAtarGame<Asterix>
{
    const int Slots = 8, RampInterval = 100;

    // Slot i holds at most one object, which lives in row i + 1.
    SlotBytes _x;
    SlotBytes _flags; // Occupied | Right | Gold
    const byte Occupied = 1, Right = 2, Gold = 4;
    sbyte _playerX, _playerY;
    short _spawnPeriod, _spawnTimer, _movePeriod, _moveTimer, _rampTimer, _rampIndex;
    bool _terminal;

    [InlineArray(Slots)]
    struct SlotBytes
    {
        byte _slot0;
    }

    /// <inheritdoc/>
    public static MinAtarGameInfo Info { get; } = new("asterix", "Asterix", ["player", "enemy", "trail", "gold"], "@E.$",
        DrawOrder: [2, 3, 1, 0],
        MinimalActions: [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Up, MinAtarAction.Right, MinAtarAction.Down]);

    /// <inheritdoc/>
    public readonly bool Terminal => _terminal;

    /// <inheritdoc/>
    public void Reset(ref LaneRng random)
    {
        _playerX = 5;
        _playerY = 5;
        _flags = default;
        _x = default;
        _spawnPeriod = _spawnTimer = 10;
        _movePeriod = _moveTimer = 5;
        _rampTimer = RampInterval;
        _rampIndex = 0;
        _terminal = false;
    }

    /// <inheritdoc/>
    public int Step(int action, bool ramping, ref LaneRng random)
    {
        if (_terminal) return 0;
        int reward = 0;
        // 1. Spawn
        if (_spawnTimer == 0)
        {
            Spawn(ref random);
            _spawnTimer = _spawnPeriod;
        }
        // 2. Player move (fire is a no-op: the source's shot timer is never used)
        switch (action)
        {
            case MinAtarAction.Left: _playerX = (sbyte)Math.Max(0, _playerX - 1); break;
            case MinAtarAction.Right: _playerX = (sbyte)Math.Min(9, _playerX + 1); break;
            case MinAtarAction.Up: _playerY = (sbyte)Math.Max(1, _playerY - 1); break;
            case MinAtarAction.Down: _playerY = (sbyte)Math.Min(8, _playerY + 1); break;
        }
        // 3. Contact with the objects before they move: the player can never pass through one
        for (int i = 0; i < Slots; i++)
            if ((_flags[i] & Occupied) != 0 && _x[i] == _playerX && i + 1 == _playerY) reward += Touch(i);
        // 4. Object movement
        if (_moveTimer == 0)
        {
            _moveTimer = _movePeriod;
            for (int i = 0; i < Slots; i++)
            {
                if ((_flags[i] & Occupied) == 0) continue;
                int x = _x[i] + ((_flags[i] & Right) != 0 ? 1 : -1);
                if (x < 0 || x > 9)
                {
                    _flags[i] = 0;
                    continue;
                }
                _x[i] = (byte)x;
                if (x == _playerX && i + 1 == _playerY) reward += Touch(i);
            }
        }
        // 5. Counters
        _spawnTimer--;
        _moveTimer--;
        // 6. Difficulty ramp: the counter runs 100 .. -1, so a ramp every 102 steps; the move period shrinks only on
        // every second ramp (RULES.md 3.7)
        if (ramping && (_spawnPeriod > 1 || _movePeriod > 1))
        {
            if (_rampTimer >= 0)
            {
                _rampTimer--;
            }
            else
            {
                if (_movePeriod > 1 && _rampIndex % 2 == 1) _movePeriod--;
                if (_spawnPeriod > 1) _spawnPeriod--;
                _rampIndex++;
                _rampTimer = RampInterval;
            }
        }
        return reward;
    }

    /// <summary>The player meets slot i's object: gold is collected (+1), an enemy ends the game and stays.</summary>
    int Touch(int i)
    {
        if ((_flags[i] & Gold) != 0)
        {
            _flags[i] = 0;
            return 1;
        }
        _terminal = true;
        return 0;
    }

    void Spawn(ref LaneRng random)
    {
        // Both draws happen even when no slot is free; Int(0, 1) consumes nothing (RULES.md 3.6).
        bool right = random.Uniform() < 0.5;
        bool gold = random.Uniform() < 1.0 / 3;
        Span<int> free = stackalloc int[Slots];
        int count = 0;
        for (int i = 0; i < Slots; i++)
            if ((_flags[i] & Occupied) == 0) free[count++] = i;
        if (count == 0) return;
        int slot = free[random.Int(0, count)];
        _flags[slot] = (byte)(Occupied | (right ? Right : 0) | (gold ? Gold : 0));
        _x[slot] = (byte)(right ? 0 : 9);
    }

    /// <inheritdoc/>
    public readonly void Render(ref ObsBits bits)
    {
        bits.Set(0, _playerX, _playerY);
        for (int i = 0; i < Slots; i++)
        {
            byte f = _flags[i];
            if ((f & Occupied) == 0) continue;
            int x = _x[i], y = i + 1;
            bits.Set((f & Gold) != 0 ? 3 : 1, x, y);
            // The trail comes from the direction, so it shows before the object has moved.
            int trail = (f & Right) != 0 ? x - 1 : x + 1;
            if ((uint)trail <= 9) bits.Set(2, trail, y);
        }
    }
}
