using System.Runtime.CompilerServices;

namespace Hybrid.Envs.MinAtar.Games;

/// <summary>
/// MinAtar Seaquest (RULES.md section 6): a submarine shoots fish and enemy subs, collects divers and must surface
/// (with at least one diver) before its oxygen runs out; the difficulty ramps on every successful surfacing.
/// </summary>
/// <remarks>
/// The source keeps its objects in Python lists; here each list is a fixed-capacity array in creation order,
/// walked newest first for updates and oldest first for searches, as the source walks them (RULES.md 6.10).
/// The capacities hold what the rules allow: at most one enemy spawns per step and an enemy leaves the grid within
/// about 10 (move period + 1) steps, so about 32 are alive at the fastest settings (64 allowed per kind); each sub
/// fires every 11 steps and a bullet lives 11, so enemy bullets stay below the number of subs seen in 11 steps (128
/// allowed); divers spawn every 30 steps and live at most 66, player bullets every 5 and live 10 (8 allowed).
/// A list that would overflow anyway stops the step with an exception rather than dropping an object.
/// </remarks>
public struct Seaquest : IMinAtarGame<Seaquest>
{
    const int OxygenFull = 200, DiverSpawnPeriod = 30, DiverMovePeriod = 5, SubShotPeriod = 10, ShotCooldown = 5, MaxDivers = 6;

    /// <summary>One object of a list: cell, direction (+1 right, -1 left) and countdowns.</summary>
    struct Mover
    {
        public sbyte X, Y, Direction;
        public byte MoveCountdown, ShotCountdown;

        public readonly bool At(int x, int y) => X == x && Y == y;
    }

    const int SmallCapacity = 8, MediumCapacity = 64, LargeCapacity = 128;
    [InlineArray(SmallCapacity)] struct Small { Mover _0; }
    [InlineArray(MediumCapacity)] struct Medium { Mover _0; }
    [InlineArray(LargeCapacity)] struct Large { Mover _0; }

    Small _playerBullets, _divers;
    Medium _fish, _subs;
    Large _enemyBullets;
    byte _playerBulletCount, _diverCount, _fishCount, _subCount, _enemyBulletCount;

    sbyte _subX, _subY;
    bool _facingRight, _surfaced, _terminal;
    short _oxygen, _diversAboard; // goes negative after a six-diver surfacing (RULES.md 6.10)
    short _enemySpawnPeriod, _enemySpawnTimer, _diverSpawnTimer, _movePeriod, _shotTimer, _rampIndex;

    /// <inheritdoc/>
    public static MinAtarGameInfo Info { get; } = new("seaquest", "Seaquest",
        ["sub_front", "sub_back", "friendly_bullet", "trail", "enemy_bullet", "enemy_fish", "enemy_sub", "oxygen_guage", "diver_guage", "diver"],
        "Ss-.*fE:dD", DrawOrder: [3, 7, 8, 9, 5, 6, 2, 4, 1, 0],
        MinimalActions: [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Up, MinAtarAction.Right, MinAtarAction.Down, MinAtarAction.Fire]);

    /// <inheritdoc/>
    public readonly bool Terminal => _terminal;

    /// <inheritdoc/>
    public void Reset(ref LaneRng random)
    {
        _subX = 5;
        _subY = 0;
        _facingRight = false;
        _oxygen = OxygenFull;
        _diversAboard = 0;
        _surfaced = true;
        _playerBulletCount = _diverCount = _fishCount = _subCount = _enemyBulletCount = 0;
        _enemySpawnPeriod = _enemySpawnTimer = 20;
        _diverSpawnTimer = DiverSpawnPeriod;
        _movePeriod = 5;
        _shotTimer = 0;
        _rampIndex = 0;
        _terminal = false;
    }

    /// <inheritdoc/>
    public int Step(int action, bool ramping, ref LaneRng random)
    {
        if (_terminal) return 0;
        int reward = 0;
        // 1-2. Spawns: enemy draws before diver draws
        if (_enemySpawnTimer == 0)
        {
            SpawnEnemy(ref random);
            _enemySpawnTimer = _enemySpawnPeriod;
        }
        if (_diverSpawnTimer == 0)
        {
            SpawnDiver(ref random);
            _diverSpawnTimer = DiverSpawnPeriod;
        }
        // 3. Player action (fire during the cool-down is a no-op)
        switch (action)
        {
            case MinAtarAction.Fire when _shotTimer == 0:
                Append(ref _playerBullets[0], ref _playerBulletCount, SmallCapacity, new Mover { X = _subX, Y = _subY, Direction = (sbyte)(_facingRight ? 1 : -1) });
                _shotTimer = ShotCooldown;
                break;
            case MinAtarAction.Left:
                _subX = (sbyte)Math.Max(0, _subX - 1);
                _facingRight = false; // even when the wall blocks the move
                break;
            case MinAtarAction.Right:
                _subX = (sbyte)Math.Min(9, _subX + 1);
                _facingRight = true;
                break;
            case MinAtarAction.Up: _subY = (sbyte)Math.Max(0, _subY - 1); break;
            case MinAtarAction.Down: _subY = (sbyte)Math.Min(8, _subY + 1); break;
        }
        reward += MovePlayerBullets();
        MoveDivers();
        reward += MoveEnemies(ref _subs[0], ref _subCount, shoots: true);
        MoveEnemyBullets();
        reward += MoveEnemies(ref _fish[0], ref _fishCount, shoots: false);
        // 9. Counters
        if (_enemySpawnTimer > 0) _enemySpawnTimer--;
        if (_diverSpawnTimer > 0) _diverSpawnTimer--;
        if (_shotTimer > 0) _shotTimer--;
        // 10. Oxygen and surfacing: oxygen 0 is fatal even on the step that reaches the surface
        if (_oxygen <= 0) _terminal = true;
        if (_subY > 0)
        {
            _oxygen--;
            _surfaced = false;
        }
        else if (!_surfaced)
        {
            if (_diversAboard == 0)
            {
                _terminal = true;
            }
            else
            {
                _surfaced = true;
                if (_diversAboard == MaxDivers)
                {
                    _diversAboard = 0;
                    reward += _oxygen * 10 / OxygenFull;
                }
                _oxygen = OxygenFull;
                // Unconditional, so a six-diver surfacing leaves -1 (RULES.md 6.10).
                _diversAboard--;
                if (ramping) Ramp();
            }
        }
        return reward;
    }

    /// <summary>4. Player bullets, newest first: move, then hit the oldest fish in the cell, else the oldest sub.</summary>
    int MovePlayerBullets()
    {
        int reward = 0;
        for (int i = _playerBulletCount - 1; i >= 0; i--)
        {
            ref Mover b = ref _playerBullets[i];
            b.X += b.Direction;
            if ((uint)b.X > 9)
            {
                RemoveAt(ref _playerBullets[0], ref _playerBulletCount, i);
                continue;
            }
            int hit = Find(ref _fish[0], _fishCount, b.X, b.Y);
            if (hit >= 0)
            {
                RemoveAt(ref _fish[0], ref _fishCount, hit);
            }
            else
            {
                hit = Find(ref _subs[0], _subCount, b.X, b.Y);
                if (hit < 0) continue;
                RemoveAt(ref _subs[0], ref _subCount, hit);
            }
            RemoveAt(ref _playerBullets[0], ref _playerBulletCount, i);
            reward++;
        }
        return reward;
    }

    /// <summary>5. Divers, newest first: collected at the player (up to six aboard), else moved every sixth step.</summary>
    void MoveDivers()
    {
        for (int i = _diverCount - 1; i >= 0; i--)
        {
            ref Mover d = ref _divers[i];
            if (d.At(_subX, _subY) && _diversAboard < MaxDivers)
            {
                RemoveAt(ref _divers[0], ref _diverCount, i);
                _diversAboard++;
                continue;
            }
            if (d.MoveCountdown != 0)
            {
                d.MoveCountdown--;
                continue;
            }
            d.MoveCountdown = DiverMovePeriod;
            d.X += d.Direction;
            if ((uint)d.X > 9)
            {
                RemoveAt(ref _divers[0], ref _diverCount, i);
            }
            else if (d.At(_subX, _subY) && _diversAboard < MaxDivers)
            {
                RemoveAt(ref _divers[0], ref _diverCount, i);
                _diversAboard++;
            }
        }
    }

    /// <summary>
    /// 6 and 8. Enemy subs or fish, newest first: touching the player is fatal, before or after the move; a move into
    /// a player bullet kills both (+1). Subs then shoot, even one killed or gone off the grid this step (RULES.md 6.10).
    /// </summary>
    int MoveEnemies(ref Mover first, ref byte count, bool shoots)
    {
        int reward = 0;
        for (int i = count - 1; i >= 0; i--)
        {
            Mover e = Unsafe.Add(ref first, i);
            bool removed = false;
            if (e.At(_subX, _subY)) _terminal = true; // processing continues
            if (e.MoveCountdown == 0)
            {
                e.MoveCountdown = (byte)_movePeriod;
                e.X += e.Direction;
                if ((uint)e.X > 9)
                {
                    removed = true;
                }
                else if (e.At(_subX, _subY))
                {
                    _terminal = true;
                }
                else
                {
                    int bullet = Find(ref _playerBullets[0], _playerBulletCount, e.X, e.Y);
                    if (bullet >= 0)
                    {
                        RemoveAt(ref _playerBullets[0], ref _playerBulletCount, bullet);
                        removed = true;
                        reward++;
                    }
                }
            }
            else
            {
                e.MoveCountdown--;
            }
            if (shoots)
            {
                if (e.ShotCountdown == 0)
                {
                    e.ShotCountdown = SubShotPeriod;
                    // Created inside the sub whichever way it faces (RULES.md 6.10); phase 7 moves it on.
                    Append(ref _enemyBullets[0], ref _enemyBulletCount, LargeCapacity, new Mover { X = e.X, Y = e.Y, Direction = e.Direction });
                }
                else
                {
                    e.ShotCountdown--;
                }
            }
            if (removed) RemoveAt(ref first, ref count, i);
            else Unsafe.Add(ref first, i) = e;
        }
        return reward;
    }

    /// <summary>7. Enemy bullets, newest first: fatal at the player before or after their move.</summary>
    void MoveEnemyBullets()
    {
        for (int i = _enemyBulletCount - 1; i >= 0; i--)
        {
            ref Mover b = ref _enemyBullets[i];
            if (b.At(_subX, _subY)) _terminal = true;
            b.X += b.Direction;
            if ((uint)b.X > 9) RemoveAt(ref _enemyBullets[0], ref _enemyBulletCount, i);
            else if (b.At(_subX, _subY)) _terminal = true;
        }
    }

    void SpawnEnemy(ref LaneRng random)
    {
        bool right = random.Uniform() < 0.5;
        bool isSub = random.Uniform() < 1.0 / 3;
        int row = random.Int(1, 9);
        sbyte direction = (sbyte)(right ? 1 : -1);
        // No spawn into a row where an enemy heads the other way (the draws are still consumed).
        if (HeadsAgainst(ref _fish[0], _fishCount, row, direction) || HeadsAgainst(ref _subs[0], _subCount, row, direction)) return;
        var enemy = new Mover { X = (sbyte)(right ? 0 : 9), Y = (sbyte)row, Direction = direction, MoveCountdown = (byte)_movePeriod };
        if (isSub)
        {
            enemy.ShotCountdown = SubShotPeriod;
            Append(ref _subs[0], ref _subCount, MediumCapacity, enemy);
        }
        else
        {
            Append(ref _fish[0], ref _fishCount, MediumCapacity, enemy);
        }
    }

    void SpawnDiver(ref LaneRng random)
    {
        bool right = random.Uniform() < 0.5;
        int row = random.Int(1, 9);
        Append(ref _divers[0], ref _diverCount, SmallCapacity,
            new Mover { X = (sbyte)(right ? 0 : 9), Y = (sbyte)row, Direction = (sbyte)(right ? 1 : -1), MoveCountdown = DiverMovePeriod });
    }

    /// <summary>On a successful surfacing (RULES.md 6.8): the move period shrinks on every second ramp, the spawn period on each.</summary>
    void Ramp()
    {
        if (_enemySpawnPeriod <= 1 && _movePeriod <= 2) return;
        if (_movePeriod > 2 && _rampIndex % 2 == 1) _movePeriod--;
        if (_enemySpawnPeriod > 1) _enemySpawnPeriod--;
        _rampIndex++;
    }

    static bool HeadsAgainst(ref Mover first, int count, int row, sbyte direction)
    {
        for (int i = 0; i < count; i++)
        {
            ref Mover e = ref Unsafe.Add(ref first, i);
            if (e.Y == row && e.Direction != direction) return true;
        }
        return false;
    }

    /// <summary>The oldest entry in cell (x, y), or -1.</summary>
    static int Find(ref Mover first, int count, int x, int y)
    {
        for (int i = 0; i < count; i++)
            if (Unsafe.Add(ref first, i).At(x, y)) return i;
        return -1;
    }

    static void RemoveAt(ref Mover first, ref byte count, int index)
    {
        for (int i = index + 1; i < count; i++) Unsafe.Add(ref first, i - 1) = Unsafe.Add(ref first, i);
        count--;
    }

    static void Append(ref Mover first, ref byte count, int capacity, Mover item)
    {
        if (count == capacity) ThrowFull(capacity);
        Unsafe.Add(ref first, count++) = item;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowFull(int capacity) =>
        throw new InvalidOperationException($"Seaquest: an object list reached its capacity of {capacity}, which the rules should never allow; please report the seed.");

    /// <inheritdoc/>
    public readonly void Render(ref ObsBits bits)
    {
        bits.Set(0, _subX, _subY);
        int back = _facingRight ? _subX - 1 : _subX + 1;
        if ((uint)back <= 9) bits.Set(1, back, _subY); // always true in reachable states
        for (int i = 0; i < _playerBulletCount; i++) bits.Set(2, _playerBullets[i].X, _playerBullets[i].Y);
        for (int i = 0; i < _enemyBulletCount; i++) bits.Set(4, _enemyBullets[i].X, _enemyBullets[i].Y);
        for (int i = 0; i < _fishCount; i++) SetWithTrail(ref bits, 5, _fish[i]);
        for (int i = 0; i < _subCount; i++) SetWithTrail(ref bits, 6, _subs[i]);
        for (int i = 0; i < _diverCount; i++) SetWithTrail(ref bits, 9, _divers[i]);
        int oxygenCells = Math.Max(0, (int)_oxygen) / 20;
        for (int x = 0; x < oxygenCells; x++) bits.Set(7, x, 9);
        for (int x = 9 - _diversAboard; x <= 8; x++) bits.Set(8, x, 9); // nothing when none (or fewer) are aboard
    }

    static void SetWithTrail(ref ObsBits bits, int channel, in Mover m)
    {
        bits.Set(channel, m.X, m.Y);
        int trail = m.X - m.Direction;
        if ((uint)trail <= 9) bits.Set(3, trail, m.Y);
    }
}
