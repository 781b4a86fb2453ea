using System.Runtime.CompilerServices;

namespace Hybrid.Envs.MinAtar.Games;

/// <summary>
/// MinAtar Freeway (RULES.md section 5): a chicken in column 4 crosses eight lanes of wrap-around traffic, +1 per
/// crossing; a hit sends it back to the bottom. Every episode lasts exactly 2501 steps. No difficulty ramp.
/// </summary>
public struct Freeway : IMinAtarGame<Freeway>
{
    const int Cars = 8, ChickenX = 4, MoveCooldown = 3, EpisodeTime = 2500;

    // Car i lives in row i + 1; velocity sign is the direction (+ right), |v| the slowness (moves every |v| + 1 steps).
    CarBytes _x, _velocity, _countdown;
    sbyte _chickenY, _moveTimer;
    short _timeLeft;
    bool _terminal;

    [InlineArray(Cars)]
    struct CarBytes
    {
        sbyte _car0;
    }

    /// <inheritdoc/>
    public static MinAtarGameInfo Info { get; } = new("freeway", "Freeway",
        ["chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"], "C#12345",
        DrawOrder: [2, 3, 4, 5, 6, 1, 0], MinimalActions: [MinAtarAction.NoOp, MinAtarAction.Up, MinAtarAction.Down]);

    /// <inheritdoc/>
    public readonly bool Terminal => _terminal;

    /// <summary>Car <paramref name="car"/>'s signed velocity (for tests against the reference's values).</summary>
    public readonly int Velocity(int car) => _velocity[car];

    /// <inheritdoc/>
    public void Reset(ref LaneRng random)
    {
        _x = default;
        RandomizeCars(ref random);
        _chickenY = 9;
        _moveTimer = MoveCooldown;
        _timeLeft = EpisodeTime;
        _terminal = false;
    }

    /// <summary>New speeds and directions, keeping the columns: eight Int(1, 6) draws, then eight doubles (RULES.md 5.3).</summary>
    void RandomizeCars(ref LaneRng random)
    {
        for (int i = 0; i < Cars; i++) _velocity[i] = (sbyte)random.Int(1, 6);
        for (int i = 0; i < Cars; i++)
        {
            double u = random.Uniform();
            // Exactly 0.5 (probability 2^-53) gives velocity 0, as in the source.
            int sign = u > 0.5 ? 1 : u < 0.5 ? -1 : 0;
            _velocity[i] = (sbyte)(_velocity[i] * sign);
            _countdown[i] = (sbyte)Math.Abs(_velocity[i]);
        }
    }

    /// <inheritdoc/>
    public int Step(int action, bool ramping, ref LaneRng random)
    {
        if (_terminal) return 0;
        int reward = 0;
        // 1. Chicken move: "down" on the bottom row does not move but still restarts the cool-down.
        if (action == MinAtarAction.Up && _moveTimer == 0)
        {
            _moveTimer = MoveCooldown;
            _chickenY = (sbyte)Math.Max(0, _chickenY - 1);
        }
        else if (action == MinAtarAction.Down && _moveTimer == 0)
        {
            _moveTimer = MoveCooldown;
            _chickenY = (sbyte)Math.Min(9, _chickenY + 1);
        }
        // 2. Crossing
        if (_chickenY == 0)
        {
            reward = 1;
            RandomizeCars(ref random);
            _chickenY = 9;
        }
        // 3. Cars: a car of slowness k moves every k + 1 steps
        for (int i = 0; i < Cars; i++)
        {
            int row = i + 1;
            if (_x[i] == ChickenX && row == _chickenY) _chickenY = 9;
            if (_countdown[i] == 0)
            {
                int v = _velocity[i];
                _countdown[i] = (sbyte)Math.Abs(v);
                int x = _x[i] + (v > 0 ? 1 : -1);
                _x[i] = (sbyte)(x < 0 ? 9 : x > 9 ? 0 : x);
                if (_x[i] == ChickenX && row == _chickenY) _chickenY = 9;
            }
            else
            {
                _countdown[i]--;
            }
        }
        // 4. Counters: the timer runs 2500 .. -1, so 2501 steps
        if (_moveTimer > 0) _moveTimer--;
        _timeLeft--;
        if (_timeLeft < 0) _terminal = true;
        return reward;
    }

    /// <inheritdoc/>
    public readonly void Render(ref ObsBits bits)
    {
        bits.Set(0, ChickenX, _chickenY);
        for (int i = 0; i < Cars; i++)
        {
            int x = _x[i], v = _velocity[i], y = i + 1;
            bits.Set(1, x, y);
            // Trails wrap around, unlike the other games'. A velocity-0 car (probability 2^-53 per draw) has no
            // trail channel in the source; it gets none here.
            if (v == 0) continue;
            int trail = v > 0 ? (x == 0 ? 9 : x - 1) : (x == 9 ? 0 : x + 1);
            bits.Set(1 + Math.Abs(v), trail, y);
        }
    }
}
