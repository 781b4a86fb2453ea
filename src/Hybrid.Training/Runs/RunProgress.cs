using Hybrid.Envs;
using Hybrid.Nn;

namespace Hybrid.Training.Runs;

/// <summary>
/// Everything a run's context keeps across a checkpoint: the metrics' counters, sums and return windows, the solve,
/// the clocks and which part of the run it is. Each part of the context puts its fields in and takes them out; this
/// type alone writes and reads them, as the checkpoint's "monitor" section (the section's name from the first
/// versions of the format, kept so that old checkpoints resume).
/// </summary>
public sealed class RunProgress
{
    /// <summary>The name of the checkpoint section.</summary>
    public const string Section = "monitor";

    internal long EnvSteps, Updates, Episodes, NextLog, ReturnCount, LossCount, LagCount, LagMax = -1, RunLagCount, RunLagMax = -1, LastLogSteps;
    internal double ReturnSum, PolicySum, ValueSum, EntropySum, LagSum, RunLagSum, LastLogSeconds, Seconds;
    internal long SolvedAtSteps = -1;
    internal double SolvedAtSeconds = double.NaN, SolvedAtCpuSeconds = double.NaN;
    internal ReturnWindow Train = new(), Eval = new();
    internal string Started = "";
    internal int Segment;
    internal double CpuSeconds, EvalSeconds, EvalCpuSeconds;

    /// <summary>Env steps of the last metrics row the saved run had written: rows after it are a resumed run's to write.</summary>
    public long LoggedThrough => LastLogSteps;

    /// <summary>Wall-clock seconds the saved run had run (all its parts).</summary>
    public double WallSeconds => Seconds;

    /// <summary>The section's bytes.</summary>
    public byte[] Write()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            BinaryState.WriteTag(w, Section);
            foreach (long v in (long[])[EnvSteps, Updates, Episodes, NextLog, ReturnCount, LossCount, LagCount, LagMax, RunLagCount, RunLagMax, LastLogSteps])
                w.Write(v);
            foreach (double v in (double[])[ReturnSum, PolicySum, ValueSum, EntropySum, LagSum, RunLagSum, LastLogSeconds, Seconds])
                w.Write(v);
            w.Write(SolvedAtSteps);
            w.Write(SolvedAtSeconds);
            Train.Save(w);
            Eval.Save(w);
            w.Write(Started);
            w.Write(Segment);
            w.Write(CpuSeconds);
            w.Write(SolvedAtCpuSeconds);
            w.Write(EvalSeconds);
            w.Write(EvalCpuSeconds);
        }
        return buffer.ToArray();
    }

    /// <summary>The progress <paramref name="checkpoint"/> was saved with.</summary>
    /// <exception cref="InvalidDataException">The checkpoint has no such section, or it is damaged.</exception>
    public static RunProgress Of(CheckpointData checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Read(checkpoint.Section(Section) ?? throw new InvalidDataException("the checkpoint has no monitor section; it was not written by train."));
    }

    /// <summary>Reads a section's bytes.</summary>
    /// <exception cref="InvalidDataException">The section is damaged.</exception>
    public static RunProgress Read(byte[] bytes)
    {
        var p = new RunProgress();
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            BinaryState.ReadTag(r, Section);
            (p.EnvSteps, p.Updates, p.Episodes, p.NextLog) = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            (p.ReturnCount, p.LossCount, p.LagCount, p.LagMax) = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            (p.RunLagCount, p.RunLagMax, p.LastLogSteps) = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            (p.ReturnSum, p.PolicySum, p.ValueSum, p.EntropySum) = (r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            (p.LagSum, p.RunLagSum, p.LastLogSeconds, p.Seconds) = (r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            (p.SolvedAtSteps, p.SolvedAtSeconds) = (r.ReadInt64(), r.ReadDouble());
            p.Train.Load(r);
            p.Eval.Load(r);
            p.Started = r.ReadString();
            p.Segment = r.ReadInt32();
            // CPU time and evaluation time came into the format later: an older section has neither (the summary then counts this part only).
            if (r.BaseStream.Position < r.BaseStream.Length) (p.CpuSeconds, p.SolvedAtCpuSeconds) = (r.ReadDouble(), r.ReadDouble());
            if (r.BaseStream.Position < r.BaseStream.Length) (p.EvalSeconds, p.EvalCpuSeconds) = (r.ReadDouble(), r.ReadDouble());
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the checkpoint's monitor section ends early.", e);
        }
        return p;
    }
}

/// <summary>The last 100 returns, in a ring.</summary>
internal sealed class ReturnWindow
{
    readonly double[] _values = new double[StopPolicy.Window];
    int _next;

    public int Count { get; private set; }

    public void Add(double value)
    {
        _values[_next] = value;
        _next = (_next + 1) % _values.Length;
        if (Count < _values.Length) Count++;
    }

    public void CopyFrom(ReturnWindow other)
    {
        other._values.CopyTo(_values, 0);
        (_next, Count) = (other._next, other.Count);
    }

    public void Save(BinaryWriter w)
    {
        BinaryState.Write<double>(w, _values);
        w.Write(_next);
        w.Write(Count);
    }

    public void Load(BinaryReader r)
    {
        BinaryState.Read<double>(r, _values, "return window");
        _next = r.ReadInt32();
        Count = r.ReadInt32();
        if ((uint)_next >= _values.Length || (uint)Count > _values.Length) throw new InvalidDataException("the checkpoint's return window is damaged.");
    }

    public double Mean
    {
        get
        {
            double sum = 0;
            for (int i = 0; i < Count; i++) sum += _values[i];
            return sum / Count;
        }
    }
}
