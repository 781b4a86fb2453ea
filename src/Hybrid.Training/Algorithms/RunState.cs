namespace Hybrid.Training.Algorithms;

/// <summary>
/// An algorithm's part of a checkpoint: theta, the optimizer's statistics, and one section (tagged with the algorithm
/// and where it ran) for everything else it needs to continue: env lanes, generators, normalization, target networks.
/// </summary>
public static class RunState
{
    /// <summary>The name of the algorithm's checkpoint section.</summary>
    public const string Section = "algorithm";

    /// <summary>The name of the normalization statistics' section (a policy needs them to act as it was trained).</summary>
    public const string NormalizationSection = "normalization";

    /// <summary>
    /// A checkpoint of <paramref name="theta"/> and <paramref name="optimizer"/>, with <paramref name="write"/>'s section
    /// tagged <paramref name="kind"/>, and the normalization statistics' own section where the run has them.
    /// </summary>
    public static CheckpointData Save(ModelSpec model, float[] theta, IOptimizer optimizer, string kind, Action<BinaryWriter> write,
        Normalization? normalization = null)
    {
        List<CheckpointSection> sections = [new CheckpointSection(Section, Bytes(writer =>
        {
            BinaryState.WriteTag(writer, kind);
            write(writer);
        }))];
        if (normalization is not null) sections.Add(new CheckpointSection(NormalizationSection, Bytes(normalization.Save)));
        return new CheckpointData
        {
            Model = model,
            Parameters = (float[])theta.Clone(),
            OptimizerState = [.. optimizer.State.Select(s => new CheckpointArray(s.Name, (float[])s.Values.Clone()))],
            Sections = sections,
        };
    }

    static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer)) write(writer);
        return buffer.ToArray();
    }

    /// <summary>Restores <paramref name="normalization"/> from the checkpoint's section.</summary>
    /// <exception cref="InvalidDataException">The checkpoint has no such section, or it is damaged.</exception>
    public static void LoadNormalization(CheckpointData checkpoint, Normalization normalization)
    {
        byte[] bytes = checkpoint.Section(NormalizationSection)
            ?? throw new InvalidDataException("the checkpoint has no normalization statistics, but the run normalizes.");
        using var reader = new BinaryReader(new MemoryStream(bytes));
        try
        {
            normalization.Load(reader);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the checkpoint's normalization section ends early.", e);
        }
    }

    /// <summary>Copies the checkpoint's theta and optimizer statistics into the run's.</summary>
    /// <exception cref="InvalidDataException">The checkpoint holds another model or optimizer.</exception>
    public static void LoadParameters(CheckpointData checkpoint, ModelSpec model, float[] theta, IOptimizer optimizer)
    {
        if (!checkpoint.Model.Equals(model))
            throw new InvalidDataException($"the checkpoint holds the model '{checkpoint.Model}'; this run builds '{model}'.");
        if (checkpoint.Parameters.Length != theta.Length)
            throw new InvalidDataException($"the checkpoint holds {checkpoint.Parameters.Length} parameters; this run has {theta.Length}.");
        checkpoint.Parameters.CopyTo(theta, 0);
        foreach ((string name, float[] values) in optimizer.State)
        {
            CheckpointArray saved = checkpoint.OptimizerState.FirstOrDefault(a => a.Name == name)
                ?? throw new InvalidDataException($"the checkpoint has no optimizer statistic '{name}'.");
            saved.Values.CopyTo(values, 0);
        }
    }

    /// <summary>
    /// Copies the checkpoint's theta and optimizer statistics into the run's, restores <paramref name="normalization"/>,
    /// then lets <paramref name="read"/> read the algorithm's section.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint holds another model, optimizer or kind of run, or its section is damaged.</exception>
    public static void Load(CheckpointData checkpoint, ModelSpec model, float[] theta, IOptimizer optimizer, string kind, Action<BinaryReader> read,
        Normalization? normalization = null)
    {
        LoadParameters(checkpoint, model, theta, optimizer);
        if (normalization is not null) LoadNormalization(checkpoint, normalization);
        byte[] section = checkpoint.Section(Section) ?? throw new InvalidDataException("the checkpoint has no algorithm section.");
        using var reader = new BinaryReader(new MemoryStream(section));
        try
        {
            BinaryState.ReadTag(reader, kind);
            read(reader);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"the checkpoint's {kind} section ends early.", e);
        }
        if (reader.BaseStream.Position != reader.BaseStream.Length)
            throw new InvalidDataException($"the checkpoint's {kind} section has {reader.BaseStream.Length - reader.BaseStream.Position} bytes left over.");
    }
}
