using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Hybrid.Training.Metrics;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.*</c>) of scalar summaries, without TensorFlow: each
/// record is TFRecord framing (u64 length, masked CRC-32C of it, the bytes, masked CRC-32C of them) around a
/// hand-encoded <c>tensorflow.Event</c> protobuf (wall_time = 1, step = 2, file_version = 3, summary = 5;
/// Summary.value = 1; Value.tag = 1, Value.simple_value = 2).
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    readonly FileStream _file;
    readonly MemoryStream _event = new();
    readonly MemoryStream _summary = new();

    /// <summary>Creates the event file in <paramref name="directory"/> and writes its version record.</summary>
    public TensorBoardWriter(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{now}.{Environment.MachineName}");
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write);
        _event.SetLength(0);
        WriteWallTime(_event);
        WriteTag(_event, 3, 2);
        WriteBytes(_event, Encoding.UTF8.GetBytes("brain.Event:2"));
        WriteRecord(_event);
        _file.Flush();
    }

    TensorBoardWriter(string path, bool append)
    {
        Path = path;
        _file = new FileStream(path, append ? FileMode.Append : FileMode.CreateNew, FileAccess.Write);
    }

    /// <summary>
    /// Continues the event file in <paramref name="directory"/> (or starts one if there is none): events past
    /// <paramref name="keepThrough"/> steps, which a resumed run writes again, are dropped, as is a record cut short
    /// by a crash; new events are appended.
    /// </summary>
    public static TensorBoardWriter Reopen(string directory, long keepThrough)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string[] files = System.IO.Directory.GetFiles(directory, "events.out.tfevents.*");
        if (files.Length == 0) return new TensorBoardWriter(directory);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            using var kept = new MemoryStream();
            int offset = 0;
            while (offset + 12 <= bytes.Length)
            {
                long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
                if (length > bytes.Length - offset - 16) break;
                var data = bytes.AsSpan(offset + 12, (int)length);
                if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 12 + (int)length)) != MaskedCrc32C(data)) break;
                if (StepOf(data) <= keepThrough) kept.Write(bytes.AsSpan(offset, 16 + (int)length));
                offset += 16 + (int)length;
            }
            string temp = file + ".tmp";
            File.WriteAllBytes(temp, kept.ToArray());
            File.Move(temp, file, overwrite: true);
        }
        return new TensorBoardWriter(files[^1], append: true);
    }

    /// <summary>The step field (2) of an Event, 0 where it has none (the file-version record).</summary>
    static long StepOf(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            ulong key = ReadVarint(data, ref i);
            switch ((int)(key & 7))
            {
                case 0:
                    ulong value = ReadVarint(data, ref i);
                    if (key >> 3 == 2) return (long)value;
                    break;
                case 1: i += 8; break;
                case 5: i += 4; break;
                case 2: i += (int)ReadVarint(data, ref i); break;
                default: return 0;
            }
        }
        return 0;
    }

    static ulong ReadVarint(ReadOnlySpan<byte> data, ref int i)
    {
        ulong value = 0;
        for (int shift = 0; i < data.Length && shift < 64; shift += 7)
        {
            byte b = data[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) break;
        }
        return value;
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Writes one event at <paramref name="step"/> holding every (tag, value) pair whose value is not NaN.</summary>
    public void WriteScalars(long step, ReadOnlySpan<(string Tag, double Value)> scalars)
    {
        _summary.SetLength(0);
        Span<byte> number = stackalloc byte[4];
        foreach ((string tag, double value) in scalars)
        {
            if (double.IsNaN(value)) continue;
            byte[] tagBytes = Encoding.UTF8.GetBytes(tag);
            int valueLength = 1 + VarintLength((ulong)tagBytes.Length) + tagBytes.Length + 1 + 4;
            WriteTag(_summary, 1, 2);
            WriteVarint(_summary, (ulong)valueLength);
            WriteTag(_summary, 1, 2);
            WriteBytes(_summary, tagBytes);
            WriteTag(_summary, 2, 5);
            BinaryPrimitives.WriteSingleLittleEndian(number, (float)value);
            _summary.Write(number);
        }
        if (_summary.Length == 0) return;
        _event.SetLength(0);
        WriteWallTime(_event);
        WriteTag(_event, 2, 0);
        WriteVarint(_event, (ulong)step);
        WriteTag(_event, 5, 2);
        WriteBytes(_event, _summary.ToArray());
        WriteRecord(_event);
        _file.Flush();
    }

    void WriteRecord(MemoryStream data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        _file.Write(header);
        ReadOnlySpan<byte> bytes = data.GetBuffer().AsSpan(0, (int)data.Length);
        _file.Write(bytes);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(bytes));
        _file.Write(footer);
    }

    static void WriteWallTime(MemoryStream s)
    {
        WriteTag(s, 1, 1);
        Span<byte> d = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(d, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        s.Write(d);
    }

    static void WriteTag(MemoryStream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    static void WriteBytes(MemoryStream s, byte[] bytes)
    {
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    static void WriteVarint(MemoryStream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    static int VarintLength(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    /// <summary>CRC-32C (Castagnoli), as TFRecord uses: reflected, initial value and final xor 0xFFFFFFFF.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8 (tensorflow/core/lib/hash/crc32c.h).</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
