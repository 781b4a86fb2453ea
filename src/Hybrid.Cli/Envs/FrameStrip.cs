using Hybrid.Envs;
using Hybrid.Envs.MinAtar;
using SkiaSharp;

namespace Hybrid.Cli.Envs;

/// <summary>
/// MinAtar frames drawn as a PNG strip for sharing: each frame a 10 x 10 grid of coloured cells (one colour per
/// channel, later channels of the game's draw order on top), frames left to right in rows of ten, in play order.
/// </summary>
public sealed class FrameStrip(MinAtarGameInfo game)
{
    /// <summary>Frames an image holds at most (the first ones played).</summary>
    public const int MaxFrames = 400;

    const int Cell = 8, Gap = 4, PerRow = 10;

    // Ten colours apart in hue and lightness, one per channel (MinAtar games have at most ten channels).
    static readonly SKColor[] Palette =
    [
        new(0xE6, 0x19, 0x4B), new(0x3C, 0xB4, 0x4B), new(0xFF, 0xE1, 0x19), new(0x43, 0x63, 0xD8), new(0xF5, 0x82, 0x31),
        new(0x91, 0x1E, 0xB4), new(0x46, 0xF0, 0xF0), new(0xF0, 0x32, 0xE6), new(0xBC, 0xF6, 0x0C), new(0xFA, 0xBE, 0xBE),
    ];

    readonly List<float[]> _frames = [];

    /// <summary>Frames kept so far.</summary>
    public int Count => _frames.Count;

    /// <summary>Keeps a copy of one observation row (C x 100 floats), up to <see cref="MaxFrames"/>.</summary>
    public void Add(ReadOnlySpan<float> observation)
    {
        if (observation.Length != game.Channels * Grid.Cells)
            throw new ArgumentException($"observation had {observation.Length} floats; expected {game.Channels * Grid.Cells}.", nameof(observation));
        if (_frames.Count < MaxFrames) _frames.Add(observation.ToArray());
    }

    /// <summary>Writes the strip to <paramref name="path"/> as PNG (atomically: a temp file, then a rename).</summary>
    public void Save(string path)
    {
        int columns = Math.Min(PerRow, Math.Max(1, _frames.Count)), rows = Math.Max(1, (_frames.Count + PerRow - 1) / PerRow);
        int frame = Grid.Side * Cell;
        using var bitmap = new SKBitmap(Gap + columns * (frame + Gap), Gap + rows * (frame + Gap));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(0x60, 0x60, 0x60));
            using var paint = new SKPaint { IsAntialias = false };
            for (int f = 0; f < _frames.Count; f++)
            {
                int left = Gap + f % PerRow * (frame + Gap), top = Gap + f / PerRow * (frame + Gap);
                paint.Color = SKColors.Black;
                canvas.DrawRect(left, top, frame, frame, paint);
                foreach (int c in game.DrawOrder)
                {
                    paint.Color = Palette[c % Palette.Length];
                    for (int cell = 0; cell < Grid.Cells; cell++)
                        if (_frames[f][c * Grid.Cells + cell] != 0)
                            canvas.DrawRect(left + cell % Grid.Side * Cell, top + cell / Grid.Side * Cell, Cell, Cell, paint);
                }
            }
        }
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string full = Path.GetFullPath(path), temp = full + ".tmp";
        using (FileStream file = File.Create(temp)) png.SaveTo(file);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>The colour legend: each channel's name and colour as #RRGGBB.</summary>
    public string Legend() => string.Join(", ", game.ChannelNames.Select((name, c) => $"{name} #{Palette[c % Palette.Length].Red:X2}{Palette[c % Palette.Length].Green:X2}{Palette[c % Palette.Length].Blue:X2}"));
}
