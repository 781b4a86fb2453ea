using System.Globalization;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.Checking;

/// <summary>Largest disagreement of one compared quantity over all rows.</summary>
/// <param name="Name">What was compared (<c>next state</c>, <c>next obs</c>, <c>reward</c>, <c>terminated</c>, <c>truncated</c>).</param>
/// <param name="MaxAbsoluteError">Largest |ours - reference|.</param>
/// <param name="MaxRelativeError">Largest |ours - reference| / |reference| (where the reference is not 0).</param>
/// <param name="Failures">Values outside tolerance (flags: values that differ).</param>
public sealed record QuantityError(string Name, double MaxAbsoluteError, double MaxRelativeError, int Failures);

/// <summary>Outcome of a reference check.</summary>
/// <param name="Env">The env checked.</param>
/// <param name="Rows">Transitions compared.</param>
/// <param name="SteppedOn">What stepped the lanes: the group width of a CPU env, or the device.</param>
/// <param name="Quantities">Per compared quantity, its largest errors.</param>
/// <param name="FirstFailures">Up to <see cref="ReferenceCheck.MaxReportedFailures"/> failing values, described.</param>
public sealed record ReferenceCheckResult(string Env, int Rows, string SteppedOn, IReadOnlyList<QuantityError> Quantities, IReadOnlyList<string> FirstFailures)
{
    /// <summary>True when every value is within tolerance and every flag is equal.</summary>
    public bool Passed => Quantities.All(q => q.Failures == 0);
}

/// <summary>
/// Replays reference transitions (Gymnasium's, in the format of <c>shared/reference/classic_control</c>): for each row,
/// set a lane's internal state and step count, apply the row's action, and compare the next state, next observation,
/// reward, terminated and truncated. Rows are stepped many lanes at a time, so the vector paths are what is checked.
/// </summary>
public static class ReferenceCheck
{
    /// <summary>A float matches when within this relative error of the reference...</summary>
    public const double RelativeTolerance = 1e-4;
    /// <summary>...or within this absolute error (Hybrid's conformance tolerance).</summary>
    public const double AbsoluteTolerance = 1e-5;
    /// <summary>Failing values described in the result.</summary>
    public const int MaxReportedFailures = 10;
    const int LanesPerStep = 1024;

    /// <summary>Checks <paramref name="envId"/> against the CSV file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">Unknown env.</exception>
    /// <exception cref="InvalidDataException">The file is empty, lacks a column the env needs, or has a value that
    /// does not parse; the message names the file, line and column.</exception>
    public static ReferenceCheckResult Run(string envId, string path, LaneWidth width = LaneWidth.Auto) =>
        Run(envId, path, n => EnvRegistry.Make(envId, n, width));

    /// <summary>Checks the lanes <paramref name="make"/> builds (given a lane count) for <paramref name="envId"/> against the CSV file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">Unknown env.</exception>
    /// <exception cref="InvalidDataException">As <see cref="Run(string, string, LaneWidth)"/>.</exception>
    public static ReferenceCheckResult Run(string envId, string path, Func<int, IVectorLanes> make)
    {
        ArgumentNullException.ThrowIfNull(make);
        EnvSpec spec = EnvRegistry.Spec(envId);
        Table table = Table.Read(path, spec);
        int rows = table.Rows.Count;
        IVectorLanes env = make(Math.Clamp(rows, 1, LanesPerStep));
        env.AutoReset = false;
        env.Reset(0, 0);

        var errors = new Accumulator[] { new("next state"), new("next obs"), new("reward"), new("terminated"), new("truncated") };
        var failures = new List<string>();
        int n = env.NumEnvs, actionSize = spec.ActionSpace.Size;
        var discrete = new int[n];
        var continuous = new float[n * actionSize];
        var state = new double[spec.StateSize];
        for (int first = 0; first < rows; first += n)
        {
            int count = Math.Min(n, rows - first);
            env.Reset();
            Array.Clear(discrete);
            Array.Clear(continuous);
            for (int j = 0; j < count; j++)
            {
                Row row = table.Rows[first + j];
                env.SetState(j, row.State, row.T);
                if (spec.IsDiscrete) discrete[j] = (int)row.Action[0];
                else for (int k = 0; k < actionSize; k++) continuous[j * actionSize + k] = (float)row.Action[k];
            }
            if (spec.IsDiscrete) env.Step(discrete);
            else env.Step(continuous);

            for (int j = 0; j < count; j++)
            {
                Row row = table.Rows[first + j];
                string where = $"seed {row.Seed}, t {row.T} (line {row.Line})";
                env.GetState(j, state);
                for (int v = 0; v < state.Length; v++)
                    errors[0].Compare(state[v], row.NextState[v], $"{where}: {spec.StateNames[v]}", failures);
                ReadOnlySpan<float> obs = env.Observations.Slice(j * spec.ObservationSize, spec.ObservationSize);
                for (int v = 0; v < obs.Length; v++)
                    errors[1].Compare(obs[v], row.NextObservation[v], $"{where}: obs[{v}]", failures);
                errors[2].Compare(env.Rewards[j], row.Reward, $"{where}: reward", failures);
                errors[3].CompareFlag(env.Terminated[j], row.Terminated, $"{where}: terminated", failures);
                errors[4].CompareFlag(env.Truncated[j], row.Truncated, $"{where}: truncated", failures);
            }
        }
        return new ReferenceCheckResult(envId, rows, env.SteppedOn, Array.ConvertAll(errors, e => e.Result()), failures);
    }

    /// <summary>Whether <paramref name="ours"/> matches <paramref name="reference"/> within Hybrid's conformance tolerance.</summary>
    public static bool WithinTolerance(double ours, double reference)
    {
        double error = Math.Abs(ours - reference);
        return error <= AbsoluteTolerance || error <= RelativeTolerance * Math.Abs(reference);
    }

    /// <summary>The result as the table <c>envcheck</c> prints.</summary>
    public static string Format(ReferenceCheckResult r)
    {
        var text = new System.Text.StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"{r.Env}: {r.Rows} reference transitions replayed on {r.SteppedOn} lanes");
        text.AppendLine(inv, $"  {"quantity",-12} {"max abs error",14} {"max rel error",14} {"failures",9}");
        foreach (QuantityError q in r.Quantities)
            text.AppendLine(inv, $"  {q.Name,-12} {q.MaxAbsoluteError,14:0.000e+00} {q.MaxRelativeError,14:0.000e+00} {q.Failures,9}");
        foreach (string f in r.FirstFailures) text.AppendLine(inv, $"  FAIL {f}");
        text.Append(r.Passed
            ? string.Create(inv, $"  pass: every float within relative {RelativeTolerance:0e+0} or absolute {AbsoluteTolerance:0e+0}; flags exact.")
            : "  FAILED");
        return text.ToString();
    }

    sealed class Accumulator(string name)
    {
        double _maxAbs, _maxRel;
        int _failures;

        public void Compare(double ours, double reference, string what, List<string> failures)
        {
            double error = Math.Abs(ours - reference);
            if (double.IsNaN(error)) error = double.PositiveInfinity;
            _maxAbs = Math.Max(_maxAbs, error);
            if (reference != 0) _maxRel = Math.Max(_maxRel, error / Math.Abs(reference));
            if (WithinTolerance(ours, reference)) return;
            _failures++;
            if (failures.Count < MaxReportedFailures)
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{what}: ours {ours:R}, reference {reference:R}"));
        }

        public void CompareFlag(bool ours, bool reference, string what, List<string> failures)
        {
            if (ours == reference) return;
            _failures++;
            _maxAbs = _maxRel = 1;
            if (failures.Count < MaxReportedFailures) failures.Add($"{what}: ours {ours}, reference {reference}");
        }

        public QuantityError Result() => new(name, _maxAbs, _maxRel, _failures);
    }

    sealed record Row(int Line, long Seed, int T, double[] State, double[] Action, double[] NextState, double[] NextObservation,
        double Reward, bool Terminated, bool Truncated);

    sealed record Table(List<Row> Rows)
    {
        public static Table Read(string path, EnvSpec spec)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"reference file '{path}' does not exist.", path);
            using var reader = new StreamReader(path);
            string? header = reader.ReadLine();
            if (string.IsNullOrWhiteSpace(header)) throw new InvalidDataException($"{path}: the file is empty; expected a header line.");
            string[] names = header.Split(',');
            int Column(string name)
            {
                int c = Array.IndexOf(names, name);
                return c >= 0 ? c : throw new InvalidDataException(
                    $"{path}: no column '{name}'; {spec.Id} needs seed, t, s0..s{spec.StateSize - 1}, a0..a{spec.ActionSpace.Size - 1}, " +
                    $"next_s0.., next_obs0..next_obs{spec.ObservationSize - 1}, reward, terminated, truncated.");
            }
            int[] Columns(string prefix, int count) => Enumerable.Range(0, count).Select(i => Column(prefix + i)).ToArray();
            int seed = Column("seed"), t = Column("t"), reward = Column("reward"), terminated = Column("terminated"), truncated = Column("truncated");
            int[] s = Columns("s", spec.StateSize), a = Columns("a", spec.ActionSpace.Size);
            int[] nextS = Columns("next_s", spec.StateSize), nextObs = Columns("next_obs", spec.ObservationSize);
            if (Array.IndexOf(names, "next_obs" + spec.ObservationSize) >= 0 || Array.IndexOf(names, "s" + spec.StateSize) >= 0)
                throw new InvalidDataException($"{path}: more state or observation columns than {spec.Id} has; is this another env's file?");

            var rows = new List<Row>();
            int line = 1;
            for (string? text = reader.ReadLine(); text is not null; text = reader.ReadLine())
            {
                line++;
                if (text.Length == 0) continue;
                string[] f = text.Split(',');
                if (f.Length != names.Length)
                    throw new InvalidDataException($"{path}, line {line}: {f.Length} fields; the header has {names.Length}.");
                double Value(int c)
                {
                    return double.TryParse(f[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
                        : throw new InvalidDataException($"{path}, line {line}, column {names[c]}: '{f[c]}' is not a number.");
                }
                double[] Values(int[] cs) => Array.ConvertAll(cs, Value);
                bool Flag(int c) => Value(c) switch
                {
                    0 => false,
                    1 => true,
                    double v => throw new InvalidDataException($"{path}, line {line}, column {names[c]}: {v} is not 0 or 1."),
                };
                double tValue = Value(t);
                if (tValue != Math.Floor(tValue) || tValue < 0 || tValue >= spec.MaxEpisodeSteps)
                    throw new InvalidDataException($"{path}, line {line}: t was {tValue}; expected an integer step in 0..{spec.MaxEpisodeSteps - 1}.");
                double[] action = Values(a);
                if (spec.ActionSpace is DiscreteSpace d && (action[0] != Math.Floor(action[0]) || !d.Contains((int)action[0])))
                    throw new InvalidDataException($"{path}, line {line}: action {action[0]} is not in {d}.");
                rows.Add(new Row(line, (long)Value(seed), (int)tValue, Values(s), action, Values(nextS), Values(nextObs),
                    Value(reward), Flag(terminated), Flag(truncated)));
            }
            if (rows.Count == 0) throw new InvalidDataException($"{path}: the file has a header but no transitions.");
            return new Table(rows);
        }
    }
}
