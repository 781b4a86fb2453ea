namespace Hybrid.Envs.MinAtar.Games;

/// <summary>
/// MinAtar Breakout (RULES.md section 4): a paddle on the bottom row, a ball moving diagonally, three rows of bricks;
/// +1 per brick; the episode ends when the ball reaches the bottom row unreturned. No difficulty ramp.
/// </summary>
public struct Breakout : IMinAtarGame<Breakout>
{
    // Directions 0 up-left, 1 up-right, 2 down-right, 3 down-left, and the maps H (flip horizontal),
    // V (flip vertical) and R (reverse both), RULES.md 4.2.
    static ReadOnlySpan<sbyte> Dx => [-1, 1, 1, -1];
    static ReadOnlySpan<sbyte> Dy => [-1, -1, 1, 1];
    static ReadOnlySpan<byte> FlipH => [1, 0, 3, 2];
    static ReadOnlySpan<byte> FlipV => [3, 2, 1, 0];
    static ReadOnlySpan<byte> Reverse => [2, 3, 0, 1];
    static readonly UInt128 FullWall = Grid.Block(0, 9, 1, 3);

    UInt128 _bricks;
    sbyte _ballX, _ballY, _lastX, _lastY, _paddle;
    byte _direction;
    bool _strike, _terminal;

    /// <inheritdoc/>
    public static MinAtarGameInfo Info { get; } = new("breakout", "Breakout", ["paddle", "ball", "trail", "brick"], "=o.#",
        DrawOrder: [2, 3, 0, 1], MinimalActions: [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Right]);

    /// <inheritdoc/>
    public readonly bool Terminal => _terminal;

    /// <inheritdoc/>
    public void Reset(ref LaneRng random)
    {
        // One draw: the ball starts in a top corner of the wall's bottom row, heading down and inwards
        // (it starts inside a brick cell; the brick is untouched).
        bool left = random.Int(0, 2) == 0;
        _ballX = (sbyte)(left ? 0 : 9);
        _direction = (byte)(left ? 2 : 3);
        _ballY = 3;
        _lastX = _ballX;
        _lastY = _ballY;
        _paddle = 4;
        _bricks = FullWall;
        _strike = false;
        _terminal = false;
    }

    /// <inheritdoc/>
    public int Step(int action, bool ramping, ref LaneRng random)
    {
        if (_terminal) return 0;
        if (action == MinAtarAction.Left) _paddle = (sbyte)Math.Max(0, _paddle - 1);
        else if (action == MinAtarAction.Right) _paddle = (sbyte)Math.Min(9, _paddle + 1);

        _lastX = _ballX;
        _lastY = _ballY;
        int d = _direction, nx = _ballX + Dx[d], ny = _ballY + Dy[d], reward = 0;
        bool struckNow = false;
        // A side wall clamps instead of bouncing: this step the ball only moves vertically.
        if (nx < 0 || nx > 9)
        {
            nx = Math.Clamp(nx, 0, 9);
            d = FlipH[d];
        }
        if (ny < 0)
        {
            ny = 0;
            d = FlipV[d];
        }
        else if (Grid.Has(_bricks, nx, ny))
        {
            struckNow = true;
            // While strike is set the ball tunnels into the brick without breaking it (RULES.md 4.6).
            if (!_strike)
            {
                reward = 1;
                _strike = true;
                _bricks &= ~Grid.Cell(nx, ny);
                ny = _lastY;
                d = FlipV[d];
            }
        }
        else if (ny == 9)
        {
            // A cleared wall is refilled only now, when the ball reaches the paddle row, hit or miss.
            if (_bricks == UInt128.Zero) _bricks = FullWall;
            if (_ballX == _paddle)
            {
                d = FlipV[d];
                ny = _lastY;
            }
            else if (nx == _paddle)
            {
                d = Reverse[d];
                ny = _lastY;
            }
            else
            {
                _terminal = true;
            }
        }
        if (!struckNow) _strike = false;
        _ballX = (sbyte)nx;
        _ballY = (sbyte)ny;
        _direction = (byte)d;
        return reward;
    }

    /// <inheritdoc/>
    public readonly void Render(ref ObsBits bits)
    {
        bits.Set(0, _paddle, 9);
        bits.Set(1, _ballX, _ballY);
        bits.Set(2, _lastX, _lastY);
        bits.Or(3, _bricks);
    }
}
