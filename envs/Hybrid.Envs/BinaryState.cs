using System.Runtime.InteropServices;

namespace Hybrid.Envs;

/// <summary>
/// Arrays of plain values in a run's saved state (a checkpoint section): each is its element count then its bytes,
/// little-endian as the machine is, read back into an array of the same length.
/// </summary>
public static class BinaryState
{
    /// <summary>Writes <paramref name="values"/>: the count, then the bytes.</summary>
    public static void Write<T>(BinaryWriter writer, ReadOnlySpan<T> values) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Reads an array written by <see cref="Write"/> into <paramref name="destination"/>, which must have its length.</summary>
    /// <exception cref="InvalidDataException">The saved array has another length, or the data ends early; <paramref name="what"/> names it.</exception>
    public static void Read<T>(BinaryReader reader, Span<T> destination, string what) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(reader);
        int count = reader.ReadInt32();
        if (count != destination.Length)
            throw new InvalidDataException($"saved state: {what} has {count} values; expected {destination.Length}.");
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        if (reader.Read(bytes) != bytes.Length) throw new InvalidDataException($"saved state: {what} ends early.");
    }

    /// <summary>Writes a tag naming what follows, so that a reader of the wrong section stops at once.</summary>
    public static void WriteTag(BinaryWriter writer, string tag)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(tag);
    }

    /// <summary>Reads the tag <see cref="WriteTag"/> wrote.</summary>
    /// <exception cref="InvalidDataException">Another tag is there.</exception>
    public static void ReadTag(BinaryReader reader, string tag)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string found;
        try
        {
            found = reader.ReadString();
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"saved state: expected '{tag}', found the end of the data.");
        }
        if (found != tag) throw new InvalidDataException($"saved state: expected '{tag}', found '{found}'.");
    }
}
