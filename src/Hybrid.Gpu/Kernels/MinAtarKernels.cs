using Hybrid.Envs;
using Hybrid.Envs.MinAtar;
using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>The MinAtar games the device steps; the value is what kernels switch on.</summary>
public enum DeviceGame
{
    /// <summary>Breakout (RULES.md section 4).</summary>
    Breakout,
    /// <summary>Freeway (RULES.md section 5).</summary>
    Freeway,
    /// <summary>Space Invaders (RULES.md section 7).</summary>
    SpaceInvaders,
    /// <summary>Asterix (RULES.md section 3).</summary>
    Asterix,
    /// <summary>Seaquest (RULES.md section 6).</summary>
    Seaquest,
}

/// <summary>
/// A 10 x 10 grid of booleans in two words, as a kernel holds one: cell (x, y) is bit <c>y * 10 + x</c>, cells 0 to 63
/// in <see cref="Lo"/> and 64 to 99 in the low 36 bits of <see cref="Hi"/> (the CPU games' 100-bit grids). Moving every
/// cell down a row is a shift by 10, sideways a shift by 1.
/// </summary>
public struct Grid100
{
    /// <summary>Cells 0 to 63.</summary>
    public ulong Lo;
    /// <summary>Cells 64 to 99.</summary>
    public ulong Hi;

    const ulong HiCells = 0xFFFFFFFFFUL;

    /// <summary>A grid of the given words.</summary>
    public Grid100(ulong lo, ulong hi) => (Lo, Hi) = (lo, hi & HiCells);

    /// <summary>Cell (x, y) alone.</summary>
    public static Grid100 Cell(int x, int y)
    {
        int k = y * 10 + x;
        return k < 64 ? new Grid100(1UL << k, 0) : new Grid100(0, 1UL << (k - 64));
    }

    /// <summary>Whether cell (x, y) is set.</summary>
    public readonly bool Has(int x, int y)
    {
        int k = y * 10 + x;
        return (k < 64 ? (Lo >> k) & 1 : (Hi >> (k - 64)) & 1) != 0;
    }

    /// <summary>Whether no cell is set.</summary>
    public readonly bool IsEmpty => (Lo | Hi) == 0;

    /// <summary>Whether any cell is set in both grids.</summary>
    public readonly bool Meets(Grid100 other) => ((Lo & other.Lo) | (Hi & other.Hi)) != 0;

    /// <summary>The cells set in both.</summary>
    public readonly Grid100 And(Grid100 other) => new(Lo & other.Lo, Hi & other.Hi);

    /// <summary>The cells set in either.</summary>
    public readonly Grid100 Or(Grid100 other) => new(Lo | other.Lo, Hi | other.Hi);

    /// <summary>The cells set here and not in <paramref name="other"/>.</summary>
    public readonly Grid100 Without(Grid100 other) => new(Lo & ~other.Lo, Hi & ~other.Hi);

    /// <summary>Every cell moved <paramref name="n"/> (1 to 99) places towards higher indices; cells past 99 vanish.</summary>
    public readonly Grid100 Up(int n) => n < 64 ? new Grid100(Lo << n, (Hi << n) | (Lo >> (64 - n))) : new Grid100(0, Lo << (n - 64));

    /// <summary>Every cell moved <paramref name="n"/> (1 to 99) places towards lower indices; cells below 0 vanish.</summary>
    public readonly Grid100 Down(int n) => n < 64 ? new Grid100((Lo >> n) | (Hi << (64 - n)), Hi >> n) : new Grid100(Hi >> (n - 64), 0);

    /// <summary>How many cells are set.</summary>
    public readonly int Count => PopCount(Lo) + PopCount(Hi);

    static int PopCount(ulong x)
    {
        x -= (x >> 1) & 0x5555555555555555UL;
        x = (x & 0x3333333333333333UL) + ((x >> 2) & 0x3333333333333333UL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
        return (int)((x * 0x0101010101010101UL) >> 56);
    }

    /// <summary>Reads the grid kept at variables <paramref name="first"/> to <paramref name="first"/> + 3 of a lane.</summary>
    public static Grid100 Load(in MinAtarLanes e, int first, int lane) => new(
        (uint)e.Get(first, lane) | ((ulong)(uint)e.Get(first + 1, lane) << 32),
        (uint)e.Get(first + 2, lane) | ((ulong)(uint)e.Get(first + 3, lane) << 32));

    /// <summary>Keeps the grid at variables <paramref name="first"/> to <paramref name="first"/> + 3 of a lane.</summary>
    public readonly void Store(in MinAtarLanes e, int first, int lane)
    {
        e.Set(first, lane, (int)(uint)Lo);
        e.Set(first + 1, lane, (int)(uint)(Lo >> 32));
        e.Set(first + 2, lane, (int)(uint)Hi);
        e.Set(first + 3, lane, (int)(uint)(Hi >> 32));
    }

    /// <summary>Sets, at <paramref name="offset"/> (a channel's first float), the float of every cell set.</summary>
    public readonly void Render(ArrayView<float> observations, int offset)
    {
        for (int k = 0; k < 64; k++)
            if (((Lo >> k) & 1) != 0) observations[offset + k] = 1f;
        for (int k = 0; k < 36; k++)
            if (((Hi >> k) & 1) != 0) observations[offset + 64 + k] = 1f;
    }
}

/// <summary>
/// The lanes of a device MinAtar env: each game's state as integers, structure of arrays (variable v of lane i at
/// <c>v * Lanes + i</c>), each lane's elapsed steps, return, last executed action (for sticky actions) and random
/// stream (seeded as the CPU env seeds lane i), the agent-to-game action map, and the wrapper's settings.
/// </summary>
public struct MinAtarLanes
{
    public ArrayView<int> State;
    public ArrayView<int> Elapsed;
    public ArrayView<float> Returns;
    public ArrayView<uint> RandomState;
    public ArrayView<uint> RandomStep;
    public ArrayView<int> LastAction;
    public ArrayView<int> ActionMap;
    /// <summary>Per lane, non-zero where the lane draws from a Mersenne Twister (seeded like the reference) instead of its own stream.</summary>
    public ArrayView<int> UsesMt;
    /// <summary>The lanes' Mersenne Twisters, <see cref="MinAtarRandom.MtWords"/> words each (624 of state, then the index).</summary>
    public ArrayView<uint> Mt;
    public int Lanes;
    public int Game;
    public int MaxSteps;
    public int Ramping;
    public double Sticky;

    public readonly int Get(int variable, int lane) => State[variable * Lanes + lane];

    public readonly void Set(int variable, int lane, int value) => State[variable * Lanes + lane] = value;

    /// <summary>Lane <paramref name="lane"/>'s random stream, positioned where it stands.</summary>
    public readonly MinAtarRandom Random(int lane) => UsesMt[lane] != 0
        ? new MinAtarRandom { Mt = Mt.SubView((long)lane * MinAtarRandom.MtWords, MinAtarRandom.MtWords), UseMt = 1 }
        : new MinAtarRandom { State = RandomState[lane], Step = RandomStep[lane] };

    /// <summary>Whether the timer at <paramref name="variable"/> has run out; if so it starts again from <paramref name="period"/> (what it times reads no timer).</summary>
    public readonly bool Restart(int variable, int lane, int period)
    {
        if (Get(variable, lane) != 0) return false;
        Set(variable, lane, period);
        return true;
    }
}

/// <summary>
/// A lane's random stream as a MinAtar step draws from it: the lane's Weyl sequence and hash (<see cref="LaneRandom"/>),
/// with numpy's legacy rules for doubles and bounded integers on top (<see cref="NumpyDraws"/>, which the CPU games'
/// <c>LaneRng</c> draws through too).
/// </summary>
public struct MinAtarRandom : IRawRandom
{
    /// <summary>Words of a lane's Mersenne Twister: the 624 of its state, then the index of the next.</summary>
    public const int MtWords = 625;

    const int N = Mt19937.N, M = Mt19937.M;

    /// <summary>The Weyl state.</summary>
    public uint State;
    /// <summary>The lane's (odd) step.</summary>
    public uint Step;
    /// <summary>The lane's Mersenne Twister, where it draws from one (<see cref="UseMt"/>).</summary>
    public ArrayView<uint> Mt;
    /// <summary>Non-zero: the lane was seeded like the reference and draws from <see cref="Mt"/>.</summary>
    public int UseMt;

    /// <summary>The next raw 32-bit output: the Weyl sequence's hash, or MT19937's (as Hybrid.Envs' Mt19937).</summary>
    public uint Next()
    {
        if (UseMt == 0)
        {
            State += Step;
            return LaneRandom.Hash(State);
        }
        uint index = Mt[N];
        if (index >= N)
        {
            for (int i = 0; i < N; i++) Mt[i] = Mt19937.Twisted(Mt[i], Mt[(i + 1) % N], Mt[(i + M) % N]);
            index = 0;
        }
        Mt[N] = index + 1;
        return Mt19937.Temper(Mt[(int)index]);
    }

    /// <summary>The words of a Mersenne Twister seeded as numpy's <c>RandomState(seed)</c> is, its index at the end (a twist comes first).</summary>
    public static uint[] SeedMt(uint seed)
    {
        var words = new uint[MtWords];
        Mt19937.Seed(words, seed);
        words[N] = N;
        return words;
    }

    /// <summary>Uniform on [0, 1) (numpy <c>random_sample</c>).</summary>
    public double Uniform() => NumpyDraws.Uniform(ref this);

    /// <summary>Uniform on <c>lo .. hi-1</c> (numpy legacy <c>randint</c>).</summary>
    public int Int(int lo, int hi) => NumpyDraws.Int(ref this, lo, hi);
}

/// <summary>
/// Breakout's rules for one lane over integers, the same as the CPU game (Hybrid.Envs' MinAtar Breakout, RULES.md
/// section 4): the bricks as a 30-bit mask of rows 1 to 3 (bit <c>(y - 1) * 10 + x</c>), the ball, its last cell,
/// the paddle, the direction (0 up-left, 1 up-right, 2 down-right, 3 down-left), the strike flag and the end.
/// </summary>
public static class DeviceBreakout
{
    /// <summary>State variables per lane.</summary>
    public const int Variables = 9;

    /// <summary>Observation channels: paddle, ball, trail, brick.</summary>
    public const int Channels = 4;

    /// <summary>The variables, in order.</summary>
    public const int Bricks = 0, BallX = 1, BallY = 2, LastX = 3, LastY = 4, Paddle = 5, Direction = 6, Strike = 7, Terminal = 8;

    /// <summary>Every brick of rows 1 to 3.</summary>
    public const int FullWall = (1 << 30) - 1;

    // The direction tables of RULES.md 4.2 as arithmetic: dx [-1, 1, 1, -1], dy [-1, -1, 1, 1], H [1, 0, 3, 2],
    // V [3, 2, 1, 0], R [2, 3, 0, 1].
    static int Dx(int d) => d == 0 || d == 3 ? -1 : 1;

    static int Dy(int d) => d < 2 ? -1 : 1;

    static int FlipH(int d) => d ^ 1;

    static int FlipV(int d) => 3 - d;

    static int Reverse(int d) => (d + 2) & 3;

    static bool HasBrick(int bricks, int x, int y) => y >= 1 && y <= 3 && ((bricks >> ((y - 1) * 10 + x)) & 1) != 0;

    /// <summary>A new game: one draw puts the ball in a top corner of the wall's bottom row, heading down and inwards.</summary>
    public static void Reset(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        bool left = random.Int(0, 2) == 0;
        int x = left ? 0 : 9;
        e.Set(BallX, lane, x);
        e.Set(Direction, lane, left ? 2 : 3);
        e.Set(BallY, lane, 3);
        e.Set(LastX, lane, x);
        e.Set(LastY, lane, 3);
        e.Set(Paddle, lane, 4);
        e.Set(Bricks, lane, FullWall);
        e.Set(Strike, lane, 0);
        e.Set(Terminal, lane, 0);
    }

    /// <summary>One frame under game action <paramref name="action"/> of a game that has not ended; returns the reward.</summary>
    public static int Step(in MinAtarLanes e, int lane, int action)
    {
        int paddle = e.Get(Paddle, lane);
        if (action == 1) paddle = paddle > 0 ? paddle - 1 : 0;
        else if (action == 3) paddle = paddle < 9 ? paddle + 1 : 9;
        int ballX = e.Get(BallX, lane), ballY = e.Get(BallY, lane), bricks = e.Get(Bricks, lane), strike = e.Get(Strike, lane);
        int lastY = ballY;
        int d = e.Get(Direction, lane), nx = ballX + Dx(d), ny = ballY + Dy(d), reward = 0, terminal = 0;
        bool struckNow = false;
        // A side wall clamps instead of bouncing: this step the ball only moves vertically.
        if (nx < 0 || nx > 9)
        {
            nx = nx < 0 ? 0 : 9;
            d = FlipH(d);
        }
        if (ny < 0)
        {
            ny = 0;
            d = FlipV(d);
        }
        else if (HasBrick(bricks, nx, ny))
        {
            struckNow = true;
            // While strike is set the ball tunnels into the brick without breaking it (RULES.md 4.6).
            if (strike == 0)
            {
                reward = 1;
                strike = 1;
                bricks &= ~(1 << ((ny - 1) * 10 + nx));
                ny = lastY;
                d = FlipV(d);
            }
        }
        else if (ny == 9)
        {
            // A cleared wall is refilled only now, when the ball reaches the paddle row, hit or miss.
            if (bricks == 0) bricks = FullWall;
            if (ballX == paddle)
            {
                d = FlipV(d);
                ny = lastY;
            }
            else if (nx == paddle)
            {
                d = Reverse(d);
                ny = lastY;
            }
            else
            {
                terminal = 1;
            }
        }
        if (!struckNow) strike = 0;
        e.Set(LastX, lane, ballX);
        e.Set(LastY, lane, ballY);
        e.Set(BallX, lane, nx);
        e.Set(BallY, lane, ny);
        e.Set(Direction, lane, d);
        e.Set(Paddle, lane, paddle);
        e.Set(Bricks, lane, bricks);
        e.Set(Strike, lane, strike);
        e.Set(Terminal, lane, terminal);
        return reward;
    }

    /// <summary>Sets the cells of the lane's observation (4 x 10 x 10, channel-first, as the CPU env lays it out) at <paramref name="row"/>, which the caller cleared.</summary>
    public static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        observations[row + 90 + e.Get(Paddle, lane)] = 1f;
        observations[row + 100 + e.Get(BallY, lane) * 10 + e.Get(BallX, lane)] = 1f;
        observations[row + 200 + e.Get(LastY, lane) * 10 + e.Get(LastX, lane)] = 1f;
        int bricks = e.Get(Bricks, lane);
        for (int b = 0; b < 30; b++)
            if (((bricks >> b) & 1) != 0) observations[row + 310 + b] = 1f;
    }
}

/// <summary>
/// Freeway's rules for one lane over integers, the same as the CPU game (RULES.md section 5): eight cars (car i in row
/// i + 1) with their columns, signed velocities (the sign the direction, the size the slowness) and countdowns, the
/// chicken's row, its move cool-down, the time left (2500 down to -1) and the end.
/// </summary>
public static class DeviceFreeway
{
    const int Cars = 8, ChickenX = 4, MoveCooldown = 3, EpisodeTime = 2500;

    /// <summary>State variables per lane.</summary>
    public const int Variables = 3 * Cars + 4;

    /// <summary>Observation channels: chicken, car, speed 1 to 5 (the trails).</summary>
    public const int Channels = 7;

    /// <summary>The variables: X, V and C are the first of eight (one per car).</summary>
    public const int X = 0, V = Cars, C = 2 * Cars, ChickenY = 3 * Cars, MoveTimer = ChickenY + 1, TimeLeft = ChickenY + 2, Terminal = ChickenY + 3;

    /// <summary>A new game: the cars in column 0 with new speeds and directions, the chicken at the bottom.</summary>
    public static void Reset(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        for (int i = 0; i < Cars; i++) e.Set(X + i, lane, 0);
        RandomizeCars(e, lane, ref random);
        e.Set(ChickenY, lane, 9);
        e.Set(MoveTimer, lane, MoveCooldown);
        e.Set(TimeLeft, lane, EpisodeTime);
        e.Set(Terminal, lane, 0);
    }

    /// <summary>New speeds and directions, keeping the columns: eight Int(1, 6) draws, then eight doubles (RULES.md 5.3).</summary>
    static void RandomizeCars(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        for (int i = 0; i < Cars; i++) e.Set(V + i, lane, random.Int(1, 6));
        for (int i = 0; i < Cars; i++)
        {
            double u = random.Uniform();
            // Exactly 0.5 (probability 2^-53) gives velocity 0, as in the source.
            int sign = u > 0.5 ? 1 : u < 0.5 ? -1 : 0;
            int v = e.Get(V + i, lane) * sign;
            e.Set(V + i, lane, v);
            e.Set(C + i, lane, v < 0 ? -v : v);
        }
    }

    /// <summary>One frame under game action <paramref name="action"/> of a game that has not ended; returns the reward.</summary>
    public static int Step(in MinAtarLanes e, int lane, int action, ref MinAtarRandom random)
    {
        int reward = 0, chicken = e.Get(ChickenY, lane), timer = e.Get(MoveTimer, lane);
        // 1. Chicken move: "down" on the bottom row does not move but still restarts the cool-down.
        if (action == 2 && timer == 0)
        {
            timer = MoveCooldown;
            chicken = chicken > 0 ? chicken - 1 : 0;
        }
        else if (action == 4 && timer == 0)
        {
            timer = MoveCooldown;
            chicken = chicken < 9 ? chicken + 1 : 9;
        }
        // 2. Crossing
        if (chicken == 0)
        {
            reward = 1;
            RandomizeCars(e, lane, ref random);
            chicken = 9;
        }
        // 3. Cars: a car of slowness k moves every k + 1 steps
        for (int i = 0; i < Cars; i++)
        {
            int row = i + 1, x = e.Get(X + i, lane), countdown = e.Get(C + i, lane);
            if (x == ChickenX && row == chicken) chicken = 9;
            if (countdown == 0)
            {
                int v = e.Get(V + i, lane);
                e.Set(C + i, lane, v < 0 ? -v : v);
                x += v > 0 ? 1 : -1;
                x = x < 0 ? 9 : x > 9 ? 0 : x;
                e.Set(X + i, lane, x);
                if (x == ChickenX && row == chicken) chicken = 9;
            }
            else
            {
                e.Set(C + i, lane, countdown - 1);
            }
        }
        // 4. Counters: the timer runs 2500 .. -1, so 2501 steps
        if (timer > 0) timer--;
        int left = e.Get(TimeLeft, lane) - 1;
        e.Set(ChickenY, lane, chicken);
        e.Set(MoveTimer, lane, timer);
        e.Set(TimeLeft, lane, left);
        if (left < 0) e.Set(Terminal, lane, 1);
        return reward;
    }

    /// <summary>Sets the cells of the lane's observation (7 x 10 x 10) at <paramref name="row"/>, which the caller cleared.</summary>
    public static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        observations[row + e.Get(ChickenY, lane) * 10 + ChickenX] = 1f;
        for (int i = 0; i < Cars; i++)
        {
            int x = e.Get(X + i, lane), v = e.Get(V + i, lane), y = i + 1;
            observations[row + 100 + y * 10 + x] = 1f;
            // Trails wrap around; a velocity-0 car (probability 2^-53 per draw) has none, as in the source.
            if (v == 0) continue;
            int trail = v > 0 ? (x == 0 ? 9 : x - 1) : (x == 9 ? 0 : x + 1), speed = v < 0 ? -v : v;
            observations[row + (1 + speed) * 100 + y * 10 + trail] = 1f;
        }
    }
}

/// <summary>
/// Space Invaders' rules for one lane, the same as the CPU game (RULES.md section 7): the aliens and both sides'
/// bullets as 100-cell grids, the cannon, the aliens' direction, period and timers, the shot cool-down, the ramp and
/// the end. No random draws: only the wrapper's sticky actions are random.
/// </summary>
public static class DeviceSpaceInvaders
{
    const int ShotCooldown = 5, AlienShotPeriod = 10, InitialAlienPeriod = 12, MinAlienPeriod = 6;

    /// <summary>State variables per lane.</summary>
    public const int Variables = 20;

    /// <summary>Observation channels: cannon, alien, alien left, alien right, friendly bullet, enemy bullet.</summary>
    public const int Channels = 6;

    /// <summary>The variables (each grid takes four).</summary>
    public const int Aliens = 0, PlayerBullets = 4, EnemyBullets = 8, Cannon = 12, Direction = 13, AlienPeriod = 14, AlienMoveTimer = 15,
        AlienShotTimer = 16, ShotTimer = 17, RampIndex = 18, Terminal = 19;

    // Grid.Block(2, 7, 0, 3), Grid.Column(0), Grid.Column(9), Grid.Row(9).
    static Grid100 Wave => new(0x3F0FC3F0FCUL, 0);
    static Grid100 LeftColumn => new(0x1004010040100401UL, 0x4010040UL);
    static Grid100 RightColumn => new(0x802008020080200UL, 0x802008020UL);
    static Grid100 BottomRow => new(0, 0xFFC000000UL);

    /// <summary>A new game: a full wave marching left, the cannon in column 5.</summary>
    public static void Reset(in MinAtarLanes e, int lane)
    {
        Wave.Store(e, Aliens, lane);
        default(Grid100).Store(e, PlayerBullets, lane);
        default(Grid100).Store(e, EnemyBullets, lane);
        e.Set(Cannon, lane, 5);
        e.Set(Direction, lane, -1);
        e.Set(AlienPeriod, lane, InitialAlienPeriod);
        e.Set(AlienMoveTimer, lane, InitialAlienPeriod);
        e.Set(AlienShotTimer, lane, AlienShotPeriod);
        e.Set(ShotTimer, lane, 0);
        e.Set(RampIndex, lane, 0);
        e.Set(Terminal, lane, 0);
    }

    /// <summary>One frame under game action <paramref name="action"/> of a game that has not ended; returns the reward.</summary>
    public static int Step(in MinAtarLanes e, int lane, int action)
    {
        Grid100 aliens = Grid100.Load(e, Aliens, lane), player = Grid100.Load(e, PlayerBullets, lane), enemy = Grid100.Load(e, EnemyBullets, lane);
        int cannon = e.Get(Cannon, lane), direction = e.Get(Direction, lane), period = e.Get(AlienPeriod, lane), moveTimer = e.Get(AlienMoveTimer, lane);
        int shotTimer = e.Get(ShotTimer, lane), alienShotTimer = e.Get(AlienShotTimer, lane), terminal = 0;
        // 1. Cannon: firing and moving are exclusive
        if (action == 5 && shotTimer == 0)
        {
            player = player.Or(Grid100.Cell(cannon, 9));
            shotTimer = ShotCooldown;
        }
        else if (action == 1) cannon = cannon > 0 ? cannon - 1 : 0;
        else if (action == 3) cannon = cannon < 9 ? cannon + 1 : 9;

        // 2-3. Bullets move a row (up for the player's, down for the aliens'); those leaving the grid vanish
        Grid100 cannonCell = Grid100.Cell(cannon, 9);
        player = player.Down(10);
        enemy = enemy.Up(10);
        if (enemy.Meets(cannonCell)) terminal = 1;

        // 4. Aliens
        if (aliens.Meets(cannonCell)) terminal = 1;
        if (moveTimer == 0)
        {
            // The next move comes after as many steps as there are aliens now (before this step's kills), at most the period.
            int count = aliens.Count;
            moveTimer = count < period ? count : period;
            if ((direction < 0 && aliens.Meets(LeftColumn)) || (direction > 0 && aliens.Meets(RightColumn)))
            {
                direction = -direction;
                if (aliens.Meets(BottomRow)) terminal = 1;
                // The source rolls the grid: row 9 wraps to row 0 (visible only in the terminal case).
                aliens = aliens.Up(10).Or(aliens.Down(90));
            }
            else
            {
                aliens = direction < 0 ? aliens.Down(1) : aliens.Up(1);
            }
            if (aliens.Meets(cannonCell)) terminal = 1;
        }
        if (alienShotTimer == 0)
        {
            alienShotTimer = AlienShotPeriod;
            enemy = enemy.Or(Shooter(aliens, cannon));
        }

        // 5. Kills: bullets and aliens are compared once, after both moved, so they can swap cells unharmed
        Grid100 hits = aliens.And(player);
        int reward = hits.Count;
        aliens = aliens.Without(hits);
        player = player.Without(hits);

        // 6. Counters
        if (shotTimer > 0) shotTimer--;
        moveTimer--;
        alienShotTimer--;

        // 7. New wave: direction, timers, bullets and cannon carry over
        if (aliens.IsEmpty)
        {
            if (e.Ramping != 0 && period > MinAlienPeriod)
            {
                period--;
                e.Set(RampIndex, lane, e.Get(RampIndex, lane) + 1);
            }
            aliens = Wave;
        }
        aliens.Store(e, Aliens, lane);
        player.Store(e, PlayerBullets, lane);
        enemy.Store(e, EnemyBullets, lane);
        e.Set(Cannon, lane, cannon);
        e.Set(Direction, lane, direction);
        e.Set(AlienPeriod, lane, period);
        e.Set(AlienMoveTimer, lane, moveTimer);
        e.Set(AlienShotTimer, lane, alienShotTimer);
        e.Set(ShotTimer, lane, shotTimer);
        if (terminal != 0) e.Set(Terminal, lane, 1);
        return reward;
    }

    /// <summary>The lowest alien of the nearest column to the cannon that has any, ties to the left (columns c, c-1, c+1, c-2, ...).</summary>
    static Grid100 Shooter(Grid100 aliens, int cannon)
    {
        for (int distance = 0; distance < 10; distance++)
            for (int side = -1; side <= 1; side += 2)
            {
                if (distance == 0 && side == 1) break;
                int x = cannon + side * distance;
                if (x < 0 || x > 9) continue;
                for (int y = 9; y >= 0; y--)
                    if (aliens.Has(x, y)) return Grid100.Cell(x, y);
            }
        return default;
    }

    /// <summary>Sets the cells of the lane's observation (6 x 10 x 10) at <paramref name="row"/>, which the caller cleared.</summary>
    public static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        observations[row + 90 + e.Get(Cannon, lane)] = 1f;
        Grid100 aliens = Grid100.Load(e, Aliens, lane);
        aliens.Render(observations, row + 100);
        aliens.Render(observations, row + (e.Get(Direction, lane) < 0 ? 200 : 300));
        Grid100.Load(e, PlayerBullets, lane).Render(observations, row + 400);
        Grid100.Load(e, EnemyBullets, lane).Render(observations, row + 500);
    }
}

/// <summary>
/// Asterix's rules for one lane, the same as the CPU game (RULES.md section 3): eight slots (slot i's object lives in
/// row i + 1) with their columns and flags (occupied, moving right, gold), the player, the spawn and move periods and
/// timers, the ramp and the end.
/// </summary>
public static class DeviceAsterix
{
    const int Slots = 8, RampInterval = 100, Occupied = 1, Right = 2, Gold = 4;

    /// <summary>State variables per lane.</summary>
    public const int Variables = 2 * Slots + 9;

    /// <summary>Observation channels: player, enemy, trail, gold.</summary>
    public const int Channels = 4;

    /// <summary>The variables: X and Flags are the first of eight (one per slot).</summary>
    public const int X = 0, Flags = Slots, PlayerX = 2 * Slots, PlayerY = PlayerX + 1, SpawnPeriod = PlayerX + 2, SpawnTimer = PlayerX + 3,
        MovePeriod = PlayerX + 4, MoveTimer = PlayerX + 5, RampTimer = PlayerX + 6, RampIndex = PlayerX + 7, Terminal = PlayerX + 8;

    /// <summary>A new game: the player in the middle, no objects, the slowest spawning and movement.</summary>
    public static void Reset(in MinAtarLanes e, int lane)
    {
        for (int i = 0; i < Slots; i++)
        {
            e.Set(X + i, lane, 0);
            e.Set(Flags + i, lane, 0);
        }
        e.Set(PlayerX, lane, 5);
        e.Set(PlayerY, lane, 5);
        e.Set(SpawnPeriod, lane, 10);
        e.Set(SpawnTimer, lane, 10);
        e.Set(MovePeriod, lane, 5);
        e.Set(MoveTimer, lane, 5);
        e.Set(RampTimer, lane, RampInterval);
        e.Set(RampIndex, lane, 0);
        e.Set(Terminal, lane, 0);
    }

    /// <summary>One frame under game action <paramref name="action"/> of a game that has not ended; returns the reward.</summary>
    public static int Step(in MinAtarLanes e, int lane, int action, ref MinAtarRandom random)
    {
        int reward = 0;
        // 1. Spawn
        if (e.Restart(SpawnTimer, lane, e.Get(SpawnPeriod, lane))) Spawn(e, lane, ref random);
        // 2. Player move (fire is a no-op: the source's shot timer is never used)
        int px = e.Get(PlayerX, lane), py = e.Get(PlayerY, lane);
        if (action == 1) px = px > 0 ? px - 1 : 0;
        else if (action == 3) px = px < 9 ? px + 1 : 9;
        else if (action == 2) py = py > 1 ? py - 1 : 1;
        else if (action == 4) py = py < 8 ? py + 1 : 8;
        e.Set(PlayerX, lane, px);
        e.Set(PlayerY, lane, py);
        // 3. Contact with the objects before they move: the player can never pass through one
        for (int i = 0; i < Slots; i++)
            if ((e.Get(Flags + i, lane) & Occupied) != 0 && e.Get(X + i, lane) == px && i + 1 == py) reward += Touch(e, lane, i);
        // 4. Object movement
        int moveTimer = e.Get(MoveTimer, lane);
        if (moveTimer == 0)
        {
            moveTimer = e.Get(MovePeriod, lane);
            for (int i = 0; i < Slots; i++)
            {
                int flags = e.Get(Flags + i, lane);
                if ((flags & Occupied) == 0) continue;
                int x = e.Get(X + i, lane) + ((flags & Right) != 0 ? 1 : -1);
                if (x < 0 || x > 9)
                {
                    e.Set(Flags + i, lane, 0);
                    continue;
                }
                e.Set(X + i, lane, x);
                if (x == px && i + 1 == py) reward += Touch(e, lane, i);
            }
        }
        // 5. Counters
        e.Set(SpawnTimer, lane, e.Get(SpawnTimer, lane) - 1);
        e.Set(MoveTimer, lane, moveTimer - 1);
        // 6. Difficulty ramp: the counter runs 100 .. -1, so a ramp every 102 steps; the move period shrinks only on
        // every second ramp (RULES.md 3.7)
        int spawnPeriod = e.Get(SpawnPeriod, lane), movePeriod = e.Get(MovePeriod, lane);
        if (e.Ramping != 0 && (spawnPeriod > 1 || movePeriod > 1))
        {
            int rampTimer = e.Get(RampTimer, lane);
            if (rampTimer >= 0)
            {
                e.Set(RampTimer, lane, rampTimer - 1);
            }
            else
            {
                int rampIndex = e.Get(RampIndex, lane);
                if (movePeriod > 1 && rampIndex % 2 == 1) e.Set(MovePeriod, lane, movePeriod - 1);
                if (spawnPeriod > 1) e.Set(SpawnPeriod, lane, spawnPeriod - 1);
                e.Set(RampIndex, lane, rampIndex + 1);
                e.Set(RampTimer, lane, RampInterval);
            }
        }
        return reward;
    }

    /// <summary>The player meets slot i's object: gold is collected (+1), an enemy ends the game and stays.</summary>
    static int Touch(in MinAtarLanes e, int lane, int i)
    {
        if ((e.Get(Flags + i, lane) & Gold) != 0)
        {
            e.Set(Flags + i, lane, 0);
            return 1;
        }
        e.Set(Terminal, lane, 1);
        return 0;
    }

    static void Spawn(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        // Both draws happen even when no slot is free; Int(0, 1) consumes nothing (RULES.md 3.6).
        bool right = random.Uniform() < 0.5;
        bool gold = random.Uniform() < 1.0 / 3;
        int count = 0;
        for (int i = 0; i < Slots; i++)
            if ((e.Get(Flags + i, lane) & Occupied) == 0) count++;
        if (count == 0) return;
        // The pick-th free slot, in slot order.
        int pick = random.Int(0, count);
        for (int i = 0; i < Slots; i++)
        {
            if ((e.Get(Flags + i, lane) & Occupied) != 0) continue;
            if (pick-- != 0) continue;
            e.Set(Flags + i, lane, Occupied | (right ? Right : 0) | (gold ? Gold : 0));
            e.Set(X + i, lane, right ? 0 : 9);
            return;
        }
    }

    /// <summary>Sets the cells of the lane's observation (4 x 10 x 10) at <paramref name="row"/>, which the caller cleared.</summary>
    public static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        observations[row + e.Get(PlayerY, lane) * 10 + e.Get(PlayerX, lane)] = 1f;
        for (int i = 0; i < Slots; i++)
        {
            int f = e.Get(Flags + i, lane);
            if ((f & Occupied) == 0) continue;
            int x = e.Get(X + i, lane), y = i + 1;
            observations[row + ((f & Gold) != 0 ? 300 : 100) + y * 10 + x] = 1f;
            // The trail comes from the direction, so it shows before the object has moved.
            int trail = (f & Right) != 0 ? x - 1 : x + 1;
            if (trail >= 0 && trail <= 9) observations[row + 200 + y * 10 + trail] = 1f;
        }
    }
}

/// <summary>
/// Seaquest's rules for one lane, the same as the CPU game (RULES.md section 6). The CPU game's object lists (player
/// bullets, divers, fish, enemy subs, enemy bullets) are fixed-capacity lists in creation order here too, walked newest
/// first for updates and oldest first for searches; each object is one integer (<see cref="Pack"/>: column, row,
/// direction and the two countdowns), so a lane's state is 290 integers. The capacities are the CPU game's, which the
/// rules never fill; where the CPU game would throw on a full list, the device drops the new object.
/// </summary>
public static class DeviceSeaquest
{
    const int OxygenFull = 200, DiverSpawnPeriod = 30, DiverMovePeriod = 5, SubShotPeriod = 10, ShotCooldown = 5, MaxDivers = 6;
    const int Small = 8, Medium = 64, Large = 128;

    /// <summary>The lists' first variables, then their counts, then the scalars.</summary>
    public const int PlayerBullets = 0, Divers = PlayerBullets + Small, Fish = Divers + Small, Subs = Fish + Medium, EnemyBullets = Subs + Medium,
        PlayerBulletCount = EnemyBullets + Large, DiverCount = PlayerBulletCount + 1, FishCount = PlayerBulletCount + 2, SubCount = PlayerBulletCount + 3,
        EnemyBulletCount = PlayerBulletCount + 4, SubX = PlayerBulletCount + 5, SubY = SubX + 1, FacingRight = SubX + 2, Surfaced = SubX + 3,
        Terminal = SubX + 4, Oxygen = SubX + 5, DiversAboard = SubX + 6, EnemySpawnPeriod = SubX + 7, EnemySpawnTimer = SubX + 8,
        DiverSpawnTimer = SubX + 9, MovePeriod = SubX + 10, ShotTimer = SubX + 11, RampIndex = SubX + 12;

    /// <summary>State variables per lane.</summary>
    public const int Variables = RampIndex + 1;

    /// <summary>Observation channels: sub front and back, friendly bullet, trail, enemy bullet, fish, enemy sub, oxygen and diver gauges, diver.</summary>
    public const int Channels = 10;

    /// <summary>One object as an integer: column + 8 (bits 0-7, so a column just off the grid fits), row (8-15), moving right (16), move countdown (17-23), shot countdown (24-30).</summary>
    public static int Pack(int x, int y, int direction, int move, int shot) => (x + 8) | (y << 8) | ((direction > 0 ? 1 : 0) << 16) | (move << 17) | (shot << 24);

    static int X(int m) => (m & 0xFF) - 8;

    static int Y(int m) => (m >> 8) & 0xFF;

    static int Direction(int m) => ((m >> 16) & 1) != 0 ? 1 : -1;

    static int Move(int m) => (m >> 17) & 0x7F;

    static int Shot(int m) => (m >> 24) & 0x7F;

    static int WithX(int m, int x) => (m & ~0xFF) | (x + 8);

    static int WithMove(int m, int move) => (m & ~(0x7F << 17)) | (move << 17);

    static int WithShot(int m, int shot) => (m & ~(0x7F << 24)) | (shot << 24);

    static bool At(int m, int x, int y) => X(m) == x && Y(m) == y;

    /// <summary>The oldest object of the list at <paramref name="list"/> in cell (x, y), or -1.</summary>
    static int Find(in MinAtarLanes e, int lane, int list, int countVariable, int x, int y)
    {
        int count = e.Get(countVariable, lane);
        for (int i = 0; i < count; i++)
            if (At(e.Get(list + i, lane), x, y)) return i;
        return -1;
    }

    static void RemoveAt(in MinAtarLanes e, int lane, int list, int countVariable, int index)
    {
        int count = e.Get(countVariable, lane);
        for (int i = index + 1; i < count; i++) e.Set(list + i - 1, lane, e.Get(list + i, lane));
        e.Set(countVariable, lane, count - 1);
    }

    static void Append(in MinAtarLanes e, int lane, int list, int countVariable, int capacity, int item)
    {
        int count = e.Get(countVariable, lane);
        if (count == capacity) return;
        e.Set(list + count, lane, item);
        e.Set(countVariable, lane, count + 1);
    }

    /// <summary>A new game: the sub surfaced in column 5 with full oxygen, no objects, the slowest spawning.</summary>
    public static void Reset(in MinAtarLanes e, int lane)
    {
        e.Set(SubX, lane, 5);
        e.Set(SubY, lane, 0);
        e.Set(FacingRight, lane, 0);
        e.Set(Oxygen, lane, OxygenFull);
        e.Set(DiversAboard, lane, 0);
        e.Set(Surfaced, lane, 1);
        for (int c = PlayerBulletCount; c <= EnemyBulletCount; c++) e.Set(c, lane, 0);
        e.Set(EnemySpawnPeriod, lane, 20);
        e.Set(EnemySpawnTimer, lane, 20);
        e.Set(DiverSpawnTimer, lane, DiverSpawnPeriod);
        e.Set(MovePeriod, lane, 5);
        e.Set(ShotTimer, lane, 0);
        e.Set(RampIndex, lane, 0);
        e.Set(Terminal, lane, 0);
    }

    /// <summary>One frame under game action <paramref name="action"/> of a game that has not ended; returns the reward.</summary>
    public static int Step(in MinAtarLanes e, int lane, int action, ref MinAtarRandom random)
    {
        int reward = 0;
        // 1-2. Spawns: enemy draws before diver draws
        if (e.Restart(EnemySpawnTimer, lane, e.Get(EnemySpawnPeriod, lane))) SpawnEnemy(e, lane, ref random);
        if (e.Restart(DiverSpawnTimer, lane, DiverSpawnPeriod)) SpawnDiver(e, lane, ref random);
        // 3. Player action (fire during the cool-down is a no-op)
        int subX = e.Get(SubX, lane), subY = e.Get(SubY, lane);
        if (action == 5)
        {
            if (e.Get(ShotTimer, lane) == 0)
            {
                Append(e, lane, PlayerBullets, PlayerBulletCount, Small, Pack(subX, subY, e.Get(FacingRight, lane) != 0 ? 1 : -1, 0, 0));
                e.Set(ShotTimer, lane, ShotCooldown);
            }
        }
        else if (action == 1)
        {
            subX = subX > 0 ? subX - 1 : 0;
            e.Set(FacingRight, lane, 0); // even when the wall blocks the move
        }
        else if (action == 3)
        {
            subX = subX < 9 ? subX + 1 : 9;
            e.Set(FacingRight, lane, 1);
        }
        else if (action == 2) subY = subY > 0 ? subY - 1 : 0;
        else if (action == 4) subY = subY < 8 ? subY + 1 : 8;
        e.Set(SubX, lane, subX);
        e.Set(SubY, lane, subY);
        reward += MovePlayerBullets(e, lane);
        MoveDivers(e, lane, subX, subY);
        reward += MoveEnemies(e, lane, Subs, SubCount, subX, subY, shoots: true);
        MoveEnemyBullets(e, lane, subX, subY);
        reward += MoveEnemies(e, lane, Fish, FishCount, subX, subY, shoots: false);
        // 9. Counters
        for (int timer = EnemySpawnTimer; timer <= DiverSpawnTimer; timer++)
            if (e.Get(timer, lane) > 0) e.Set(timer, lane, e.Get(timer, lane) - 1);
        if (e.Get(ShotTimer, lane) > 0) e.Set(ShotTimer, lane, e.Get(ShotTimer, lane) - 1);
        // 10. Oxygen and surfacing: oxygen 0 is fatal even on the step that reaches the surface
        int oxygen = e.Get(Oxygen, lane);
        if (oxygen <= 0) e.Set(Terminal, lane, 1);
        if (subY > 0)
        {
            e.Set(Oxygen, lane, oxygen - 1);
            e.Set(Surfaced, lane, 0);
        }
        else if (e.Get(Surfaced, lane) == 0)
        {
            int aboard = e.Get(DiversAboard, lane);
            if (aboard == 0)
            {
                e.Set(Terminal, lane, 1);
            }
            else
            {
                e.Set(Surfaced, lane, 1);
                if (aboard == MaxDivers)
                {
                    aboard = 0;
                    reward += oxygen * 10 / OxygenFull;
                }
                e.Set(Oxygen, lane, OxygenFull);
                // Unconditional, so a six-diver surfacing leaves -1 (RULES.md 6.10).
                e.Set(DiversAboard, lane, aboard - 1);
                if (e.Ramping != 0) Ramp(e, lane);
            }
        }
        return reward;
    }

    /// <summary>4. Player bullets, newest first: move, then hit the oldest fish in the cell, else the oldest sub.</summary>
    static int MovePlayerBullets(in MinAtarLanes e, int lane)
    {
        int reward = 0;
        for (int i = e.Get(PlayerBulletCount, lane) - 1; i >= 0; i--)
        {
            int b = e.Get(PlayerBullets + i, lane);
            int x = X(b) + Direction(b), y = Y(b);
            e.Set(PlayerBullets + i, lane, WithX(b, x));
            if (x < 0 || x > 9)
            {
                RemoveAt(e, lane, PlayerBullets, PlayerBulletCount, i);
                continue;
            }
            int hit = Find(e, lane, Fish, FishCount, x, y);
            if (hit >= 0)
            {
                RemoveAt(e, lane, Fish, FishCount, hit);
            }
            else
            {
                hit = Find(e, lane, Subs, SubCount, x, y);
                if (hit < 0) continue;
                RemoveAt(e, lane, Subs, SubCount, hit);
            }
            RemoveAt(e, lane, PlayerBullets, PlayerBulletCount, i);
            reward++;
        }
        return reward;
    }

    /// <summary>5. Divers, newest first: collected at the player (up to six aboard), else moved every sixth step.</summary>
    static void MoveDivers(in MinAtarLanes e, int lane, int subX, int subY)
    {
        for (int i = e.Get(DiverCount, lane) - 1; i >= 0; i--)
        {
            int d = e.Get(Divers + i, lane);
            if (At(d, subX, subY) && e.Get(DiversAboard, lane) < MaxDivers)
            {
                RemoveAt(e, lane, Divers, DiverCount, i);
                e.Set(DiversAboard, lane, e.Get(DiversAboard, lane) + 1);
                continue;
            }
            if (Move(d) != 0)
            {
                e.Set(Divers + i, lane, WithMove(d, Move(d) - 1));
                continue;
            }
            int x = X(d) + Direction(d);
            d = WithX(WithMove(d, DiverMovePeriod), x);
            e.Set(Divers + i, lane, d);
            if (x < 0 || x > 9)
            {
                RemoveAt(e, lane, Divers, DiverCount, i);
            }
            else if (At(d, subX, subY) && e.Get(DiversAboard, lane) < MaxDivers)
            {
                RemoveAt(e, lane, Divers, DiverCount, i);
                e.Set(DiversAboard, lane, e.Get(DiversAboard, lane) + 1);
            }
        }
    }

    /// <summary>
    /// 6 and 8. Enemy subs or fish, newest first: touching the player is fatal, before or after the move; a move into
    /// a player bullet kills both (+1). Subs then shoot, even one killed or gone off the grid this step (RULES.md 6.10).
    /// </summary>
    static int MoveEnemies(in MinAtarLanes e, int lane, int list, int countVariable, int subX, int subY, bool shoots)
    {
        int reward = 0;
        for (int i = e.Get(countVariable, lane) - 1; i >= 0; i--)
        {
            int m = e.Get(list + i, lane);
            bool removed = false;
            if (At(m, subX, subY)) e.Set(Terminal, lane, 1); // processing continues
            if (Move(m) == 0)
            {
                int x = X(m) + Direction(m);
                m = WithX(WithMove(m, e.Get(MovePeriod, lane)), x);
                if (x < 0 || x > 9)
                {
                    removed = true;
                }
                else if (At(m, subX, subY))
                {
                    e.Set(Terminal, lane, 1);
                }
                else
                {
                    int bullet = Find(e, lane, PlayerBullets, PlayerBulletCount, x, Y(m));
                    if (bullet >= 0)
                    {
                        RemoveAt(e, lane, PlayerBullets, PlayerBulletCount, bullet);
                        removed = true;
                        reward++;
                    }
                }
            }
            else
            {
                m = WithMove(m, Move(m) - 1);
            }
            if (shoots)
            {
                if (Shot(m) == 0)
                {
                    m = WithShot(m, SubShotPeriod);
                    // Created inside the sub whichever way it faces (RULES.md 6.10); phase 7 moves it on.
                    Append(e, lane, EnemyBullets, EnemyBulletCount, Large, Pack(X(m), Y(m), Direction(m), 0, 0));
                }
                else
                {
                    m = WithShot(m, Shot(m) - 1);
                }
            }
            if (removed) RemoveAt(e, lane, list, countVariable, i);
            else e.Set(list + i, lane, m);
        }
        return reward;
    }

    /// <summary>7. Enemy bullets, newest first: fatal at the player before or after their move.</summary>
    static void MoveEnemyBullets(in MinAtarLanes e, int lane, int subX, int subY)
    {
        for (int i = e.Get(EnemyBulletCount, lane) - 1; i >= 0; i--)
        {
            int b = e.Get(EnemyBullets + i, lane);
            if (At(b, subX, subY)) e.Set(Terminal, lane, 1);
            int x = X(b) + Direction(b);
            b = WithX(b, x);
            e.Set(EnemyBullets + i, lane, b);
            if (x < 0 || x > 9) RemoveAt(e, lane, EnemyBullets, EnemyBulletCount, i);
            else if (At(b, subX, subY)) e.Set(Terminal, lane, 1);
        }
    }

    static void SpawnEnemy(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        bool right = random.Uniform() < 0.5;
        bool isSub = random.Uniform() < 1.0 / 3;
        int row = random.Int(1, 9), direction = right ? 1 : -1;
        // No spawn into a row where an enemy heads the other way (the draws are still consumed).
        if (HeadsAgainst(e, lane, Fish, FishCount, row, direction) || HeadsAgainst(e, lane, Subs, SubCount, row, direction)) return;
        int enemy = Pack(right ? 0 : 9, row, direction, e.Get(MovePeriod, lane), isSub ? SubShotPeriod : 0);
        if (isSub) Append(e, lane, Subs, SubCount, Medium, enemy);
        else Append(e, lane, Fish, FishCount, Medium, enemy);
    }

    static void SpawnDiver(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        bool right = random.Uniform() < 0.5;
        int row = random.Int(1, 9);
        Append(e, lane, Divers, DiverCount, Small, Pack(right ? 0 : 9, row, right ? 1 : -1, DiverMovePeriod, 0));
    }

    /// <summary>On a successful surfacing (RULES.md 6.8): the move period shrinks on every second ramp, the spawn period on each.</summary>
    static void Ramp(in MinAtarLanes e, int lane)
    {
        int spawn = e.Get(EnemySpawnPeriod, lane), move = e.Get(MovePeriod, lane), index = e.Get(RampIndex, lane);
        if (spawn <= 1 && move <= 2) return;
        if (move > 2 && index % 2 == 1) e.Set(MovePeriod, lane, move - 1);
        if (spawn > 1) e.Set(EnemySpawnPeriod, lane, spawn - 1);
        e.Set(RampIndex, lane, index + 1);
    }

    static bool HeadsAgainst(in MinAtarLanes e, int lane, int list, int countVariable, int row, int direction)
    {
        int count = e.Get(countVariable, lane);
        for (int i = 0; i < count; i++)
        {
            int m = e.Get(list + i, lane);
            if (Y(m) == row && Direction(m) != direction) return true;
        }
        return false;
    }

    /// <summary>Sets the cells of the lane's observation (10 x 10 x 10) at <paramref name="row"/>, which the caller cleared.</summary>
    public static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        int subX = e.Get(SubX, lane), subY = e.Get(SubY, lane);
        observations[row + subY * 10 + subX] = 1f;
        int back = e.Get(FacingRight, lane) != 0 ? subX - 1 : subX + 1;
        if (back >= 0 && back <= 9) observations[row + 100 + subY * 10 + back] = 1f; // always true in reachable states
        RenderList(e, lane, observations, row, PlayerBullets, PlayerBulletCount, 2, trail: false);
        RenderList(e, lane, observations, row, EnemyBullets, EnemyBulletCount, 4, trail: false);
        RenderList(e, lane, observations, row, Fish, FishCount, 5, trail: true);
        RenderList(e, lane, observations, row, Subs, SubCount, 6, trail: true);
        RenderList(e, lane, observations, row, Divers, DiverCount, 9, trail: true);
        int oxygen = e.Get(Oxygen, lane), cells = (oxygen > 0 ? oxygen : 0) / 20;
        for (int x = 0; x < cells; x++) observations[row + 700 + 90 + x] = 1f;
        for (int x = 9 - e.Get(DiversAboard, lane); x <= 8; x++) observations[row + 800 + 90 + x] = 1f; // nothing when none (or fewer) are aboard
    }

    static void RenderList(in MinAtarLanes e, int lane, ArrayView<float> observations, int row, int list, int countVariable, int channel, bool trail)
    {
        int count = e.Get(countVariable, lane);
        for (int i = 0; i < count; i++)
        {
            int m = e.Get(list + i, lane), x = X(m), y = Y(m);
            observations[row + channel * 100 + y * 10 + x] = 1f;
            int behind = x - Direction(m);
            if (trail && behind >= 0 && behind <= 9) observations[row + 300 + y * 10 + behind] = 1f;
        }
    }
}

/// <summary>Where a MinAtar step writes what the vector-env contract promises the host.</summary>
public struct MinAtarOutputs
{
    public ArrayView<int> Actions;
    public ArrayView<float> Observations;
    public ArrayView<float> FinalObservations;
    public ArrayView<float> Rewards;
    public ArrayView<int> Terminated;
    public ArrayView<int> Truncated;
    /// <summary>Per lane: the return of the episode that ended at this step, NaN where none did.</summary>
    public ArrayView<float> EndedReturns;
    public ArrayView<DeviceEpisode> Episodes;
    public ArrayView<int> EpisodeCount;
    public ArrayView<uint> ActionState;
    public ArrayView<uint> ActionStep;
    public int ObservationSize;
    public int AutoReset;
    /// <summary>Non-zero: each lane draws a uniform random action from its own stream instead of reading Actions (benchmarks).</summary>
    public int RandomActions;
    /// <summary>The agent's actions (the action map's length).</summary>
    public int ActionCount;
    public int Step;
}

/// <summary>The MinAtar env kernels, each a grid-stride loop over lanes, switching on <see cref="MinAtarLanes.Game"/>.</summary>
public static class MinAtarKernels
{
    /// <summary>Observation channels of a game (0 for none: kernels cannot throw, and the host refuses unknown games).</summary>
    public static int Channels(DeviceGame game) => game switch
    {
        DeviceGame.Breakout => DeviceBreakout.Channels,
        DeviceGame.Freeway => DeviceFreeway.Channels,
        DeviceGame.SpaceInvaders => DeviceSpaceInvaders.Channels,
        DeviceGame.Asterix => DeviceAsterix.Channels,
        DeviceGame.Seaquest => DeviceSeaquest.Channels,
        _ => 0,
    };

    /// <summary>State variables of a game.</summary>
    public static int Variables(DeviceGame game) => game switch
    {
        DeviceGame.Breakout => DeviceBreakout.Variables,
        DeviceGame.Freeway => DeviceFreeway.Variables,
        DeviceGame.SpaceInvaders => DeviceSpaceInvaders.Variables,
        DeviceGame.Asterix => DeviceAsterix.Variables,
        DeviceGame.Seaquest => DeviceSeaquest.Variables,
        _ => 0,
    };

    static void ResetGame(in MinAtarLanes e, int lane, ref MinAtarRandom random)
    {
        switch ((DeviceGame)e.Game)
        {
            case DeviceGame.Freeway: DeviceFreeway.Reset(e, lane, ref random); break;
            case DeviceGame.SpaceInvaders: DeviceSpaceInvaders.Reset(e, lane); break;
            case DeviceGame.Asterix: DeviceAsterix.Reset(e, lane); break;
            case DeviceGame.Seaquest: DeviceSeaquest.Reset(e, lane); break;
            default: DeviceBreakout.Reset(e, lane, ref random); break;
        }
    }

    /// <summary>One frame of the lane's game; a game that has ended changes nothing and gives nothing (each game's Step assumes it has not).</summary>
    static int StepGame(in MinAtarLanes e, int lane, int action, ref MinAtarRandom random) => Ended(e, lane) ? 0 : (DeviceGame)e.Game switch
    {
        DeviceGame.Freeway => DeviceFreeway.Step(e, lane, action, ref random),
        DeviceGame.SpaceInvaders => DeviceSpaceInvaders.Step(e, lane, action),
        DeviceGame.Asterix => DeviceAsterix.Step(e, lane, action, ref random),
        DeviceGame.Seaquest => DeviceSeaquest.Step(e, lane, action, ref random),
        _ => DeviceBreakout.Step(e, lane, action),
    };

    static bool Ended(in MinAtarLanes e, int lane) => e.Get((DeviceGame)e.Game switch
    {
        DeviceGame.Freeway => DeviceFreeway.Terminal,
        DeviceGame.SpaceInvaders => DeviceSpaceInvaders.Terminal,
        DeviceGame.Asterix => DeviceAsterix.Terminal,
        DeviceGame.Seaquest => DeviceSeaquest.Terminal,
        _ => DeviceBreakout.Terminal,
    }, lane) != 0;

    /// <summary>Clears the lane's observation row and lets its game set the cells it shows.</summary>
    static void Render(in MinAtarLanes e, int lane, ArrayView<float> observations, int row)
    {
        for (int k = 0; k < Channels((DeviceGame)e.Game) * 100; k++) observations[row + k] = 0f;
        switch ((DeviceGame)e.Game)
        {
            case DeviceGame.Freeway: DeviceFreeway.Render(e, lane, observations, row); break;
            case DeviceGame.SpaceInvaders: DeviceSpaceInvaders.Render(e, lane, observations, row); break;
            case DeviceGame.Asterix: DeviceAsterix.Render(e, lane, observations, row); break;
            case DeviceGame.Seaquest: DeviceSeaquest.Render(e, lane, observations, row); break;
            default: DeviceBreakout.Render(e, lane, observations, row); break;
        }
    }

    /// <summary>Resets every lane (continuing its stream): a new game, zero steps and return, its first observation.</summary>
    public static void Reset(Index1D index, int stride, MinAtarLanes e, ArrayView<float> observations, int observationSize)
    {
        for (int lane = index; lane < e.Lanes; lane += stride)
        {
            MinAtarRandom random = e.Random(lane);
            ResetGame(e, lane, ref random);
            if (random.UseMt == 0) e.RandomState[lane] = random.State;
            e.Elapsed[lane] = 0;
            e.Returns[lane] = 0f;
            Render(e, lane, observations, lane * observationSize);
        }
    }

    /// <summary>Writes every lane's observation from its state (after the host set states).</summary>
    public static void ObserveAll(Index1D index, int stride, MinAtarLanes e, ArrayView<float> observations, int observationSize)
    {
        for (int lane = index; lane < e.Lanes; lane += stride) Render(e, lane, observations, lane * observationSize);
    }

    /// <summary>
    /// One step of every lane, as the reference's <c>Environment</c> wrapper takes it (RULES.md section 1): the sticky
    /// draw first, on every step; a sticky step repeats the last executed action; then the game's frame, the time
    /// limit, the final observation and the episode's record, and (with auto-reset) the next game from the same stream,
    /// the last action carrying over.
    /// </summary>
    public static void Step(Index1D index, int stride, MinAtarLanes e, MinAtarOutputs o)
    {
        for (int lane = index; lane < e.Lanes; lane += stride)
        {
            MinAtarRandom random = e.Random(lane);
            int agentAction;
            if (o.RandomActions != 0)
            {
                uint state = o.ActionState[lane];
                agentAction = (int)DeviceMath.Uniform(ref state, o.ActionStep[lane], 0f, o.ActionCount);
                o.ActionState[lane] = state;
            }
            else agentAction = o.Actions[lane];
            int action = e.ActionMap[agentAction];
            if (random.Uniform() < e.Sticky) action = e.LastAction[lane];
            e.LastAction[lane] = action;
            int reward = StepGame(e, lane, action, ref random);
            int steps = e.Elapsed[lane] + 1;
            float sum = e.Returns[lane] + reward;
            bool terminated = Ended(e, lane), truncated = steps >= e.MaxSteps;
            int row = lane * o.ObservationSize;
            Render(e, lane, o.Observations, row);
            o.Rewards[lane] = reward;
            o.Terminated[lane] = terminated ? 1 : 0;
            o.Truncated[lane] = truncated ? 1 : 0;
            o.EndedReturns[lane] = terminated || truncated ? sum : float.NaN;
            if (terminated || truncated)
            {
                for (int k = 0; k < o.ObservationSize; k++) o.FinalObservations[row + k] = o.Observations[row + k];
                int slot = Atomic.Add(ref o.EpisodeCount[0], 1);
                if (slot < o.Episodes.Length)
                    o.Episodes[slot] = new DeviceEpisode { Step = o.Step, Lane = lane, Return = sum, Length = steps, Terminated = terminated ? 1 : 0 };
                // Without auto-reset the lane keeps its last state until the host resets it.
                if (o.AutoReset != 0)
                {
                    ResetGame(e, lane, ref random);
                    Render(e, lane, o.Observations, row);
                    steps = 0;
                    sum = 0f;
                }
            }
            e.Elapsed[lane] = steps;
            e.Returns[lane] = sum;
            if (random.UseMt == 0) e.RandomState[lane] = random.State;
        }
    }

    /// <summary>
    /// Resets the lanes marked in <paramref name="marked"/> alone (a lane just seeded like the reference): a new game
    /// from its stream, zero steps and return, its first observation, and its flags and reward cleared.
    /// </summary>
    public static void ResetMarked(Index1D index, int stride, MinAtarLanes e, MinAtarOutputs o, ArrayView<int> marked)
    {
        for (int lane = index; lane < e.Lanes; lane += stride)
        {
            if (marked[lane] == 0) continue;
            MinAtarRandom random = e.Random(lane);
            ResetGame(e, lane, ref random);
            if (random.UseMt == 0) e.RandomState[lane] = random.State;
            e.Elapsed[lane] = 0;
            e.Returns[lane] = 0f;
            Render(e, lane, o.Observations, lane * o.ObservationSize);
            o.Rewards[lane] = 0f;
            o.Terminated[lane] = 0;
            o.Truncated[lane] = 0;
        }
    }
}
