using System.Text;

namespace Hybrid.Envs.MinAtar;

/// <summary>
/// MinAtar observations as text: a 10 x 10 grid in a frame, one character per cell, the glyph of the highest-priority
/// lit channel (<see cref="MinAtarGameInfo.DrawOrder"/>), a space where nothing is.
/// </summary>
public static class MinAtarText
{
    static readonly string[] ActionNames = ["no-op", "left", "up", "right", "down", "fire"];

    /// <summary>"glyph name" for every channel, e.g. <c>= paddle, o ball, . trail, # brick</c>.</summary>
    public static string Legend(MinAtarGameInfo game)
    {
        ArgumentNullException.ThrowIfNull(game);
        return string.Join(", ", game.ChannelNames.Select((name, c) => $"{game.Glyphs[c]} {name}"));
    }

    /// <summary>The name of game action <paramref name="action"/> (0 no-op ... 5 fire).</summary>
    public static string ActionName(int action) => (uint)action < (uint)ActionNames.Length ? ActionNames[action] : action.ToString();

    /// <summary>Appends the framed grid of one observation row (<c>C x 100</c> floats, channel-first) to <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">The row is not C x 100 long.</exception>
    public static void AppendGrid(StringBuilder text, MinAtarGameInfo game, ReadOnlySpan<float> observation)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(game);
        if (observation.Length != game.Channels * Grid.Cells)
            throw new ArgumentException($"observation had {observation.Length} floats; expected {game.Channels * Grid.Cells} ({game.Channels} x 10 x 10).", nameof(observation));
        text.Append('+').Append('-', Grid.Side).Append('+').Append('\n');
        for (int y = 0; y < Grid.Side; y++)
        {
            text.Append('|');
            for (int x = 0; x < Grid.Side; x++)
            {
                char glyph = ' ';
                foreach (int c in game.DrawOrder)
                    if (observation[c * Grid.Cells + y * Grid.Side + x] != 0) glyph = game.Glyphs[c];
                text.Append(glyph);
            }
            text.Append('|').Append('\n');
        }
        text.Append('+').Append('-', Grid.Side).Append('+').Append('\n');
    }
}
