namespace Hybrid.Envs.MinAtar.Games;

/// <summary>
/// MinAtar Space Invaders (RULES.md section 7): a cannon on the bottom row shoots up at a 4 x 6 block of aliens that
/// marches sideways and steps down at the edges and shoots back; +1 per alien; a cleared wave returns faster.
/// No random draws: only the wrapper's sticky actions are random.
/// </summary>
public struct SpaceInvaders : IMinAtarGame<SpaceInvaders>
{
    const int ShotCooldown = 5, AlienShotPeriod = 10, InitialAlienPeriod = 12, MinAlienPeriod = 6;
    static readonly UInt128 Wave = Grid.Block(2, 7, 0, 3);
    static readonly UInt128 LeftColumn = Grid.Column(0), RightColumn = Grid.Column(9), BottomRow = Grid.Row(9);

    UInt128 _aliens, _playerBullets, _enemyBullets;
    sbyte _cannon, _alienDirection;
    short _alienPeriod, _alienMoveTimer, _alienShotTimer, _shotTimer, _rampIndex;
    bool _terminal;

    /// <inheritdoc/>
    public static MinAtarGameInfo Info { get; } = new("space_invaders", "SpaceInvaders",
        ["cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet"], "AW<>|!",
        DrawOrder: [1, 2, 3, 4, 5, 0], MinimalActions: [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Right, MinAtarAction.Fire]);

    /// <inheritdoc/>
    public readonly bool Terminal => _terminal;

    /// <inheritdoc/>
    public void Reset(ref LaneRng random)
    {
        _cannon = 5;
        _aliens = Wave;
        _playerBullets = _enemyBullets = UInt128.Zero;
        _alienDirection = -1;
        _alienPeriod = _alienMoveTimer = InitialAlienPeriod;
        _alienShotTimer = AlienShotPeriod;
        _shotTimer = 0;
        _rampIndex = 0;
        _terminal = false;
    }

    /// <inheritdoc/>
    public int Step(int action, bool ramping, ref LaneRng random)
    {
        if (_terminal) return 0;
        // 1. Cannon: firing and moving are exclusive
        if (action == MinAtarAction.Fire && _shotTimer == 0)
        {
            _playerBullets |= Grid.Cell(_cannon, 9);
            _shotTimer = ShotCooldown;
        }
        else if (action == MinAtarAction.Left) _cannon = (sbyte)Math.Max(0, _cannon - 1);
        else if (action == MinAtarAction.Right) _cannon = (sbyte)Math.Min(9, _cannon + 1);

        // 2-3. Bullets move a row (up for the player's, down for the aliens'); those leaving the grid vanish
        UInt128 cannonCell = Grid.Cell(_cannon, 9);
        _playerBullets >>= Grid.Side;
        _enemyBullets = (_enemyBullets << Grid.Side) & Grid.All;
        if ((_enemyBullets & cannonCell) != UInt128.Zero) _terminal = true;

        // 4. Aliens
        if ((_aliens & cannonCell) != UInt128.Zero) _terminal = true;
        if (_alienMoveTimer == 0)
        {
            // The next move comes after as many steps as there are aliens now (before this step's kills), at most the period.
            _alienMoveTimer = (short)Math.Min(Grid.Count(_aliens), _alienPeriod);
            if ((_alienDirection < 0 && (_aliens & LeftColumn) != UInt128.Zero) || (_alienDirection > 0 && (_aliens & RightColumn) != UInt128.Zero))
            {
                _alienDirection = (sbyte)-_alienDirection;
                if ((_aliens & BottomRow) != UInt128.Zero) _terminal = true;
                // The source rolls the grid: row 9 wraps to row 0 (visible only in the terminal case).
                _aliens = ((_aliens << Grid.Side) & Grid.All) | (_aliens >> (Grid.Cells - Grid.Side));
            }
            else
            {
                // No alien sits in the column it moves towards, so a shift by one never crosses a row.
                _aliens = _alienDirection < 0 ? _aliens >> 1 : _aliens << 1;
            }
            if ((_aliens & cannonCell) != UInt128.Zero) _terminal = true;
        }
        if (_alienShotTimer == 0)
        {
            _alienShotTimer = AlienShotPeriod;
            _enemyBullets |= Shooter();
        }

        // 5. Kills: bullets and aliens are compared once, after both moved, so they can swap cells unharmed
        UInt128 hits = _aliens & _playerBullets;
        int reward = Grid.Count(hits);
        _aliens &= ~hits;
        _playerBullets &= ~hits;

        // 6. Counters
        if (_shotTimer > 0) _shotTimer--;
        _alienMoveTimer--;
        _alienShotTimer--;

        // 7. New wave: direction, timers, bullets and cannon carry over
        if (_aliens == UInt128.Zero)
        {
            if (ramping && _alienPeriod > MinAlienPeriod)
            {
                _alienPeriod--;
                _rampIndex++;
            }
            _aliens = Wave;
        }
        return reward;
    }

    /// <summary>
    /// The lowest alien of the nearest column to the cannon that has any, ties to the left column (columns c, c-1,
    /// c+1, c-2, ...). Never empty: a new wave replaces a cleared one within the step that clears it.
    /// </summary>
    readonly UInt128 Shooter()
    {
        for (int distance = 0; distance < Grid.Side; distance++)
        {
            for (int side = -1; side <= 1; side += 2)
            {
                if (distance == 0 && side == 1) break;
                int x = _cannon + side * distance;
                if ((uint)x > 9) continue;
                for (int y = 9; y >= 0; y--)
                    if (Grid.Has(_aliens, x, y)) return Grid.Cell(x, y);
            }
        }
        return UInt128.Zero;
    }

    /// <inheritdoc/>
    public readonly void Render(ref ObsBits bits)
    {
        bits.Set(0, _cannon, 9);
        bits.Or(1, _aliens);
        bits.Or(_alienDirection < 0 ? 2 : 3, _aliens);
        bits.Or(4, _playerBullets);
        bits.Or(5, _enemyBullets);
    }
}
