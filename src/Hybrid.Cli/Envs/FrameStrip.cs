using Hybrid.Envs;
using Hybrid.Envs.MinAtar;
using SkiaSharp;

namespace Hybrid.Cli.Envs;

/// <summary>
/// MinAtar frames drawn as a PNG strip for sharing: each frame a 10 x 10 grid of coloured cells (one colour per
/// channel, later channels of the game's draw order on top), frames left to right in rows of ten, in play order,
/// each with its frame number (0 = the observation after reset) beneath it.
/// </summary>
public sealed class FrameStrip(MinAtarGameInfo game)
{
    /// <summary>Frames an image holds at most (the first ones played).</summary>
    public const int MaxFrames = 400;

    const int Cell = 8, Gap = 4, PerRow = 10;

    // Frame numbers in a 3 x 5 pixel font of its own, drawn at twice that size: no system font is needed (a server
    // without fonts draws them too). Each digit is five rows of three bits, the top row first.
    const int DigitScale = 2, Label = 5 * DigitScale + 4;
    static readonly int[][] Digits =
    [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ];

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
        using var bitmap = new SKBitmap(Gap + columns * (frame + Gap), Gap + rows * (frame + Label + Gap));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(0x60, 0x60, 0x60));
            using var paint = new SKPaint { IsAntialias = false };
            for (int f = 0; f < _frames.Count; f++)
            {
                int left = Gap + f % PerRow * (frame + Gap), top = Gap + f / PerRow * (frame + Label + Gap);
                paint.Color = SKColors.Black;
                canvas.DrawRect(left, top, frame, frame, paint);
                foreach (int c in game.DrawOrder)
                {
                    paint.Color = Palette[c % Palette.Length];
                    for (int cell = 0; cell < Grid.Cells; cell++)
                        if (_frames[f][c * Grid.Cells + cell] != 0)
                            canvas.DrawRect(left + cell % Grid.Side * Cell, top + cell / Grid.Side * Cell, Cell, Cell, paint);
                }
                paint.Color = SKColors.White;
                DrawNumber(canvas, paint, f, left, top + frame + 2);
            }
        }
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string full = Path.GetFullPath(path), temp = full + ".tmp";
        using (FileStream file = File.Create(temp)) png.SaveTo(file);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Draws <paramref name="number"/> with the pixel font, its top left at (<paramref name="left"/>, <paramref name="top"/>).</summary>
    static void DrawNumber(SKCanvas canvas, SKPaint paint, int number, int left, int top)
    {
        string text = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (int d = 0; d < text.Length; d++)
        {
            int[] rows = Digits[text[d] - '0'];
            int x0 = left + d * 4 * DigitScale;
            for (int r = 0; r < 5; r++)
                for (int c = 0; c < 3; c++)
                    if ((rows[r] >> (2 - c) & 1) != 0)
                        canvas.DrawRect(x0 + c * DigitScale, top + r * DigitScale, DigitScale, DigitScale, paint);
        }
    }

    /// <summary>The colour legend: each channel's name and colour as #RRGGBB.</summary>
    public string Legend() => string.Join(", ", game.ChannelNames.Select((name, c) => $"{name} #{Palette[c % Palette.Length].Red:X2}{Palette[c % Palette.Length].Green:X2}{Palette[c % Palette.Length].Blue:X2}"));
}
