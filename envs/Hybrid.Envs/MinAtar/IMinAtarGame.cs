namespace Hybrid.Envs.MinAtar;

/// <summary>
/// One MinAtar game as a value type: its fields are one lane's state, and Reset, Step and Render are the rules of
/// RULES.md for that game. <see cref="MinAtarEnv{TGame}"/> keeps an array of them (one per lane), draws the sticky
/// actions and writes observations; a game never allocates.
/// </summary>
public interface IMinAtarGame<TSelf> where TSelf : unmanaged, IMinAtarGame<TSelf>
{
    /// <summary>Name, channels, glyphs and minimal action set.</summary>
    static abstract MinAtarGameInfo Info { get; }

    /// <summary>Whether the game has ended; a terminal game's Step returns 0 and changes nothing.</summary>
    bool Terminal { get; }

    /// <summary>The game's reset (which may draw from <paramref name="random"/>).</summary>
    void Reset(ref LaneRng random);

    /// <summary>
    /// One frame under <paramref name="action"/> (0 no-op, 1 left, 2 up, 3 right, 4 down, 5 fire; actions a game
    /// does not use act as no-ops); returns the reward and sets <see cref="Terminal"/>.
    /// </summary>
    int Step(int action, bool ramping, ref LaneRng random);

    /// <summary>Sets the observation bits of the current state (<paramref name="bits"/> starts cleared).</summary>
    void Render(ref ObsBits bits);
}

/// <summary>What a MinAtar game is, apart from its rules.</summary>
/// <param name="Name">The reference package's name, e.g. <c>space_invaders</c> (also the conformance file's game column).</param>
/// <param name="Title">The registry's name, e.g. <c>SpaceInvaders</c>.</param>
/// <param name="ChannelNames">The reference's channel labels, in channel order.</param>
/// <param name="Glyphs">One character per channel for text rendering, in channel order.</param>
/// <param name="DrawOrder">Channels from the lowest to the highest priority: a text cell shows the last lit one.</param>
/// <param name="MinimalActions">The actions that have an effect, in the reference's order (the -v1 action set).</param>
public sealed record MinAtarGameInfo(string Name, string Title, string[] ChannelNames, string Glyphs, int[] DrawOrder, int[] MinimalActions)
{
    /// <summary>Observation channels, C.</summary>
    public int Channels => ChannelNames.Length;
}

/// <summary>The six actions every MinAtar game accepts (RULES.md section 0).</summary>
public static class MinAtarAction
{
    /// <summary>Do nothing.</summary>
    public const int NoOp = 0;
    /// <summary>Left.</summary>
    public const int Left = 1;
    /// <summary>Up.</summary>
    public const int Up = 2;
    /// <summary>Right.</summary>
    public const int Right = 3;
    /// <summary>Down.</summary>
    public const int Down = 4;
    /// <summary>Fire.</summary>
    public const int Fire = 5;
    /// <summary>Number of actions in the full set.</summary>
    public const int Count = 6;
}
