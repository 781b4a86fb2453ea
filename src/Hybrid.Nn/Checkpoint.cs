using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hybrid.Nn.Models;

namespace Hybrid.Nn;

/// <summary>A named float array saved with a checkpoint (theta, an optimizer statistic).</summary>
public sealed record CheckpointArray(string Name, float[] Values);

/// <summary>A named block of bytes saved with a checkpoint: the run's state beyond theta (env lanes, generators, counters).</summary>
public sealed record CheckpointSection(string Name, byte[] Bytes);

/// <summary>What a checkpoint holds.</summary>
public sealed record CheckpointData
{
    /// <summary>The model the parameters belong to.</summary>
    public required ModelSpec Model { get; init; }
    /// <summary>theta.</summary>
    public required float[] Parameters { get; init; }
    /// <summary>Optimizer statistics, by name.</summary>
    public IReadOnlyList<CheckpointArray> OptimizerState { get; init; } = [];
    /// <summary>Environment steps taken when saved.</summary>
    public long EnvSteps { get; init; }
    /// <summary>Updates applied when saved.</summary>
    public long Updates { get; init; }
    /// <summary>The run's resolved configuration, as text (YAML), stored verbatim.</summary>
    public string Config { get; init; } = "";
    /// <summary>Further state, by name (format version 2).</summary>
    public IReadOnlyList<CheckpointSection> Sections { get; init; } = [];

    /// <summary>The section named <paramref name="name"/>, or null.</summary>
    public byte[]? Section(string name)
    {
        foreach (CheckpointSection s in Sections)
            if (s.Name == name) return s.Bytes;
        return null;
    }
}

/// <summary>
/// One-file checkpoints: parameters, optimizer state and metadata, written atomically (temp file, flush, rename)
/// and closed by a CRC-32, so a crash mid-write leaves the previous checkpoint intact and a damaged file is refused.
/// <para>Layout (little-endian): "HYBRIDCK", u32 version, i32 header length, header JSON (model spec text,
/// counters, config, array names and lengths, section names and lengths), the arrays as float32, the sections' bytes,
/// u32 CRC-32 of all preceding bytes. Version 1 had no sections; it is still read.</para>
/// </summary>
public static class Checkpoint
{
    static ReadOnlySpan<byte> Magic => "HYBRIDCK"u8;
    const uint Version = 2;
    const int PrefixBytes = 8 + 4 + 4;

    sealed record Header(string Model, long EnvSteps, long Updates, string Config, string[] Names, int[] Lengths,
        string[]? SectionNames = null, int[]? SectionLengths = null);

    /// <summary>Writes <paramref name="data"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="ArgumentException">The path is empty or the data is inconsistent.</exception>
    public static void Save(string path, CheckpointData data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(data);
        var arrays = new List<CheckpointArray> { new("theta", data.Parameters) };
        arrays.AddRange(data.OptimizerState);
        foreach (CheckpointArray a in arrays)
            if (a.Values.Length != data.Parameters.Length)
                throw new ArgumentException($"Optimizer state '{a.Name}' has length {a.Values.Length}; expected {data.Parameters.Length} (the parameter count).", nameof(data));
        var header = new Header(data.Model.ToString(), data.EnvSteps, data.Updates, data.Config,
            arrays.ConvertAll(a => a.Name).ToArray(), arrays.ConvertAll(a => a.Values.Length).ToArray(),
            data.Sections.Select(x => x.Name).ToArray(), data.Sections.Select(x => x.Bytes.Length).ToArray());
        byte[] headerBytes = JsonSerializer.SerializeToUtf8Bytes(header);

        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, Version);
        buffer.Write(word);
        BinaryPrimitives.WriteInt32LittleEndian(word, headerBytes.Length);
        buffer.Write(word);
        buffer.Write(headerBytes);
        foreach (CheckpointArray a in arrays) WriteFloats(buffer, a.Values);
        foreach (CheckpointSection section in data.Sections) buffer.Write(section.Bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(word, Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        buffer.Write(word);

        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                buffer.Position = 0;
                buffer.CopyTo(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads a checkpoint and checks it belongs to <paramref name="expectedModel"/> (skipped when null).</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, not a checkpoint, or holds another model; the message says which.</exception>
    public static CheckpointData Load(string path, ModelSpec? expectedModel = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"Checkpoint '{path}' is not a Hybrid checkpoint: it does not start with 'HYBRIDCK'.");
        if (bytes.Length < PrefixBytes + 4)
            throw new InvalidDataException($"Checkpoint '{path}' is truncated: {bytes.Length} bytes, shorter than the fixed header.");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if (version is not (1 or Version))
            throw new InvalidDataException($"Checkpoint '{path}' has format version {version}; this build reads versions 1 and {Version}.");
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (headerLength < 0 || (long)PrefixBytes + headerLength + 4 > bytes.Length)
            throw new InvalidDataException($"Checkpoint '{path}' is truncated: its header needs {PrefixBytes + (long)headerLength + 4} bytes, the file has {bytes.Length}.");
        Header? header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(bytes.AsSpan(PrefixBytes, headerLength));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: its header is not valid ({e.Message}).", e);
        }
        if (header is null || header.Names is null || header.Lengths is null || header.Names.Length != header.Lengths.Length
            || header.Names.Length == 0 || header.Names[0] != "theta")
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: its header does not list the arrays.");
        string[] sectionNames = header.SectionNames ?? [];
        int[] sectionLengths = header.SectionLengths ?? [];
        if (sectionNames.Length != sectionLengths.Length)
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: its header does not list the sections.");
        long expected = PrefixBytes + headerLength + 4;
        foreach (int length in header.Lengths)
        {
            if (length < 0) throw new InvalidDataException($"Checkpoint '{path}' is corrupted: an array length is negative.");
            expected += 4L * length;
        }
        foreach (int length in sectionLengths)
        {
            if (length < 0) throw new InvalidDataException($"Checkpoint '{path}' is corrupted: a section length is negative.");
            expected += length;
        }
        if (bytes.Length < expected)
            throw new InvalidDataException($"Checkpoint '{path}' is truncated: expected {expected} bytes, the file has {bytes.Length}.");
        if (bytes.Length > expected)
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: expected {expected} bytes, the file has {bytes.Length}.");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        uint actual = Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4));
        if (stored != actual)
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: checksum {actual:x8} does not match the stored {stored:x8}.");

        ModelSpec model;
        try
        {
            model = ModelSpec.Parse(header.Model);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' holds an unreadable model spec: {e.Message}", e);
        }
        if (expectedModel is not null && !model.Equals(expectedModel))
            throw new InvalidDataException($"Checkpoint '{path}' holds a different model: '{model}'; expected '{expectedModel}'.");

        int offset = PrefixBytes + headerLength;
        var arrays = new List<CheckpointArray>();
        for (int i = 0; i < header.Names.Length; i++)
        {
            var values = new float[header.Lengths[i]];
            MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset, 4 * values.Length)).CopyTo(values);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints are little-endian.");
            offset += 4 * values.Length;
            arrays.Add(new CheckpointArray(header.Names[i], values));
        }
        var sections = new List<CheckpointSection>();
        for (int i = 0; i < sectionNames.Length; i++)
        {
            sections.Add(new CheckpointSection(sectionNames[i], bytes.AsSpan(offset, sectionLengths[i]).ToArray()));
            offset += sectionLengths[i];
        }
        return new CheckpointData
        {
            Model = model,
            Parameters = arrays[0].Values,
            OptimizerState = arrays.GetRange(1, arrays.Count - 1),
            EnvSteps = header.EnvSteps,
            Updates = header.Updates,
            Config = header.Config ?? "",
            Sections = sections,
        };
    }

    static void WriteFloats(Stream stream, float[] values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints are little-endian.");
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table-driven.</summary>
public static class Crc32
{
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>The CRC-32 of <paramref name="data"/> ("123456789" gives 0xCBF43926).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
