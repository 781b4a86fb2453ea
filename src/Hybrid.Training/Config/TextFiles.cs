using System.Text;

namespace Hybrid.Training.Config;

/// <summary>Reads the text files a user names (configs, experiment files) with a size limit, so that a device such as /dev/zero is refused instead of filling memory.</summary>
public static class TextFiles
{
    /// <summary>The largest settings or experiment file Hybrid reads: far above any real one.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>
    /// The UTF-8 text of <paramref name="path"/>, read up to <see cref="MaxBytes"/>; <paramref name="describe"/> is how a
    /// message names the file (e.g. "--config 'x.yaml'").
    /// </summary>
    /// <exception cref="FormatException">The file is larger than MaxBytes (or never ends), or holds a NUL byte (binary data).</exception>
    public static string Read(string path, string describe)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, FileOptions.SequentialScan);
        var buffer = new byte[MaxBytes + 1];
        int length = 0, read;
        while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0) length += read;
        if (length > MaxBytes)
            throw new FormatException($"{describe} is larger than {MaxBytes / (1 << 20)} MiB (or never ends, as a device such as /dev/zero does); expected a YAML file.");
        if (buffer.AsSpan(0, length).Contains((byte)0))
            throw new FormatException($"{describe} is not a text file (it holds binary data); expected a YAML file.");
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}
