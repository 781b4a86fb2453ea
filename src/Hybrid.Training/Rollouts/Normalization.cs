using System.Globalization;
using System.Text;

namespace Hybrid.Training.Rollouts;

/// <summary>
/// Running mean and variance of fixed-size rows, in double precision, mergeable across threads (Chan, Golub and
/// LeVeque 1979's pairwise update: the same formula SB3's RunningMeanStd uses).
/// </summary>
public sealed class RunningMoments
{
    readonly double[] _mean, _m2;

    /// <summary>Moments of rows of <paramref name="size"/> values.</summary>
    public RunningMoments(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        (_mean, _m2) = (new double[size], new double[size]);
    }

    /// <summary>Rows seen.</summary>
    public double Count { get; private set; }

    /// <summary>Per-column mean.</summary>
    public ReadOnlySpan<double> Mean => _mean;

    /// <summary>Per-column population variance (0 before two rows).</summary>
    public double Variance(int column) => Count > 0 ? _m2[column] / Count : 0;

    /// <summary>Adds one row (Welford's update).</summary>
    public void Add(ReadOnlySpan<float> row)
    {
        Count++;
        for (int j = 0; j < _mean.Length; j++)
        {
            double delta = row[j] - _mean[j];
            _mean[j] += delta / Count;
            _m2[j] += delta * (row[j] - _mean[j]);
        }
    }

    /// <summary>Adds every row another accumulator has seen.</summary>
    public void Merge(RunningMoments other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0) return;
        double total = Count + other.Count;
        for (int j = 0; j < _mean.Length; j++)
        {
            double delta = other._mean[j] - _mean[j];
            _mean[j] += delta * other.Count / total;
            _m2[j] += other._m2[j] + delta * delta * Count * other.Count / total;
        }
        Count = total;
    }

    /// <summary>Writes the count, means and sums of squares (a checkpoint's).</summary>
    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Count);
        BinaryState.Write<double>(writer, _mean);
        BinaryState.Write<double>(writer, _m2);
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The data is for another width, or ends early.</exception>
    public void Load(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Count = reader.ReadDouble();
        BinaryState.Read<double>(reader, _mean, "normalization means");
        BinaryState.Read<double>(reader, _m2, "normalization sums of squares");
    }

    /// <summary>Forgets every row.</summary>
    public void Clear()
    {
        Count = 0;
        Array.Clear(_mean);
        Array.Clear(_m2);
    }
}

/// <summary>
/// Observation and reward normalization as SB3's VecNormalize does it (defaults clip 10, epsilon 1e-8): observations
/// become (x - mean) / sqrt(var + eps) clipped to [-10, 10], with the running moments of every observation acted on;
/// rewards are divided by sqrt(var + eps) of the running discounted return (ret = gamma ret + r, reset at an episode's
/// end) and clipped likewise. The agent learns from what this returns; episode returns in metrics stay the env's own.
/// <para>
/// One difference from VecNormalize: the statistics used to normalize are frozen during a rollout (A2C) or a segment
/// (A3C) and merged at its end, in lane order, from the tallies of the threads that saw the data. That keeps A2C
/// deterministic and equal across thread counts; VecNormalize updates them at every step.
/// </para>
/// </summary>
public sealed class Normalization
{
    /// <summary>Clip of normalized observations and scaled rewards (VecNormalize's clip_obs and clip_reward).</summary>
    public const float Clip = 10f;

    /// <summary>Added to the variance before the square root (VecNormalize's epsilon).</summary>
    public const double Epsilon = 1e-8;

    readonly object _gate = new();
    readonly RunningMoments _observations, _returns = new(1);
    readonly float[] _mean, _inverseStd;
    float _rewardScale = 1;
    long _version;

    /// <summary>Normalization of <paramref name="observationSize"/>-value observations; either part may be off.</summary>
    public Normalization(int observationSize, bool observations, bool rewards, float gamma)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(observationSize, 1);
        (NormalizeObservations, NormalizeRewards, Gamma) = (observations, rewards, gamma);
        _observations = new RunningMoments(observationSize);
        _mean = new float[observationSize];
        _inverseStd = new float[observationSize];
        Array.Fill(_inverseStd, 1f);
    }

    /// <summary>A normalization for the config's settings, or null when both are off.</summary>
    public static Normalization? For(ActorCriticConfig config, EnvSpec env) =>
        config.NormalizeObservations || config.NormalizeRewards
            ? new Normalization(env.ObservationSize, config.NormalizeObservations, config.NormalizeRewards, config.Gamma)
            : null;

    /// <summary>Whether observations are normalized.</summary>
    public bool NormalizeObservations { get; }
    /// <summary>Whether rewards are scaled.</summary>
    public bool NormalizeRewards { get; }
    /// <summary>The discount of the running return.</summary>
    public float Gamma { get; }
    /// <summary>Observation size.</summary>
    public int ObservationSize => _mean.Length;

    /// <summary>Adds a tally's moments (thread-safe; in a fixed order where results must be deterministic) and empties it.</summary>
    public void Merge(NormalizationTally tally)
    {
        ArgumentNullException.ThrowIfNull(tally);
        lock (_gate)
        {
            _observations.Merge(tally.Observations);
            _returns.Merge(tally.Returns);
            for (int j = 0; j < _mean.Length; j++)
            {
                _mean[j] = (float)_observations.Mean[j];
                _inverseStd[j] = (float)(1 / Math.Sqrt(_observations.Variance(j) + Epsilon));
            }
            _rewardScale = (float)(1 / Math.Sqrt(_returns.Variance(0) + Epsilon));
            _version++;
        }
        tally.Clear();
    }

    /// <summary>Copies the current statistics into a thread's tally, for it to normalize with until its next merge (thread-safe).</summary>
    public void CopyTo(NormalizationTally tally)
    {
        ArgumentNullException.ThrowIfNull(tally);
        lock (_gate)
        {
            if (tally.Version == _version) return;
            _mean.CopyTo(tally.FrozenMean, 0);
            _inverseStd.CopyTo(tally.FrozenInverseStd, 0);
            tally.FrozenRewardScale = _rewardScale;
            tally.Version = _version;
        }
    }

    /// <summary>Writes the statistics and the normalizers they give (a checkpoint's).</summary>
    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_gate)
        {
            BinaryState.WriteTag(writer, "normalization");
            _observations.Save(writer);
            _returns.Save(writer);
            BinaryState.Write<float>(writer, _mean);
            BinaryState.Write<float>(writer, _inverseStd);
            writer.Write(_rewardScale);
            writer.Write(_version);
        }
    }

    /// <summary>Restores what <see cref="Save"/> wrote; tallies made earlier must be loaded (or refreshed after <see cref="NormalizationTally.Load"/>) to take the restored normalizers.</summary>
    /// <exception cref="InvalidDataException">The data is for another observation size, or ends early.</exception>
    public void Load(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_gate)
        {
            BinaryState.ReadTag(reader, "normalization");
            _observations.Load(reader);
            _returns.Load(reader);
            BinaryState.Read<float>(reader, _mean, "normalization mean");
            BinaryState.Read<float>(reader, _inverseStd, "normalization inverse deviations");
            _rewardScale = reader.ReadSingle();
            _version = reader.ReadInt64();
        }
    }

    /// <summary>The statistics as JSON, for the run folder (normalization.json).</summary>
    public string ToJson()
    {
        lock (_gate)
        {
            var text = new StringBuilder("{\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"normalize_observations\": {(NormalizeObservations ? "true" : "false")},\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"normalize_rewards\": {(NormalizeRewards ? "true" : "false")},\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"clip\": {Clip}, \"epsilon\": {Epsilon:R}, \"gamma\": {Gamma:R},\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"observation_count\": {_observations.Count:R},\n");
            text.Append("  \"observation_mean\": [").AppendJoin(", ", Enumerable.Range(0, _mean.Length).Select(j => _observations.Mean[j].ToString("R", CultureInfo.InvariantCulture))).Append("],\n");
            text.Append("  \"observation_var\": [").AppendJoin(", ", Enumerable.Range(0, _mean.Length).Select(j => _observations.Variance(j).ToString("R", CultureInfo.InvariantCulture))).Append("],\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"return_count\": {_returns.Count:R},\n");
            text.Append(CultureInfo.InvariantCulture, $"  \"return_var\": {_returns.Variance(0):R}\n}}\n");
            return text.ToString();
        }
    }
}

/// <summary>
/// One thread's side of a <see cref="Normalization"/>: the statistics frozen for its rollout, the moments of what it
/// saw since its last merge, each lane's running discounted return, and buffers for the normalized observations.
/// Nothing here allocates after construction.
/// </summary>
public sealed class NormalizationTally
{
    readonly Normalization _shared;
    readonly float[] _observations, _next, _laneReturn, _row = new float[1];
    readonly int _lanes;

    /// <summary>A tally for <paramref name="lanes"/> lanes of <paramref name="shared"/>.</summary>
    public NormalizationTally(Normalization shared, int lanes)
    {
        ArgumentNullException.ThrowIfNull(shared);
        _shared = shared;
        _lanes = lanes;
        Observations = new RunningMoments(shared.ObservationSize);
        FrozenMean = new float[shared.ObservationSize];
        FrozenInverseStd = new float[shared.ObservationSize];
        Array.Fill(FrozenInverseStd, 1f);
        _observations = new float[lanes * shared.ObservationSize];
        _next = new float[lanes * shared.ObservationSize];
        _laneReturn = new float[lanes];
        Version = -1;
        shared.CopyTo(this);
    }

    internal RunningMoments Observations { get; }
    internal RunningMoments Returns { get; } = new(1);
    internal float[] FrozenMean { get; }
    internal float[] FrozenInverseStd { get; }
    internal float FrozenRewardScale { get; set; } = 1;
    internal long Version { get; set; }

    /// <summary>Tallies the env's observations and returns them normalized with the frozen statistics (or as they are).</summary>
    public ReadOnlySpan<float> Observe(ReadOnlySpan<float> raw)
    {
        if (!_shared.NormalizeObservations) return raw;
        int size = FrozenMean.Length;
        for (int lane = 0; lane < _lanes; lane++) Observations.Add(raw.Slice(lane * size, size));
        Normalize(raw, _observations);
        return _observations;
    }

    /// <summary>The observations normalized without tallying them (for a bootstrap value).</summary>
    public ReadOnlySpan<float> Peek(ReadOnlySpan<float> raw)
    {
        if (!_shared.NormalizeObservations) return raw;
        Normalize(raw, _next);
        return _next;
    }

    /// <summary>
    /// After step t has been stored: scales its rewards (tallying each lane's running return, reset where the episode
    /// ended) and normalizes the final observations of the steps it truncated (from <paramref name="truncatedBefore"/> on).
    /// </summary>
    public void AfterStep(Rollout rollout, int t, VectorEnv env, int truncatedBefore)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(env);
        if (_shared.NormalizeRewards)
        {
            ReadOnlySpan<bool> terminated = env.Terminated, truncated = env.Truncated;
            for (int lane = 0; lane < _lanes; lane++)
            {
                int i = t * _lanes + lane;
                float r = rollout.Rewards[i];
                _laneReturn[lane] = _shared.Gamma * _laneReturn[lane] + r;
                _row[0] = _laneReturn[lane];
                Returns.Add(_row);
                rollout.Rewards[i] = Math.Clamp(r * FrozenRewardScale, -Normalization.Clip, Normalization.Clip);
                if (terminated[lane] || truncated[lane]) _laneReturn[lane] = 0;
            }
        }
        if (_shared.NormalizeObservations)
        {
            int size = FrozenMean.Length;
            for (int k = truncatedBefore; k < rollout.TruncatedCount; k++)
            {
                Span<float> row = rollout.FinalObservations.AsSpan(k * size, size);
                Normalize(row, row);
            }
        }
    }

    /// <summary>Merges what this tally saw into the shared statistics and takes the new ones.</summary>
    public void Publish()
    {
        _shared.Merge(this);
        _shared.CopyTo(this);
    }

    /// <summary>Takes the shared statistics as they are now (another thread may have merged).</summary>
    public void Refresh() => _shared.CopyTo(this);

    /// <summary>Writes each lane's discounted return so far (a checkpoint's); the rest is refreshed from the shared statistics.</summary>
    public void Save(BinaryWriter writer) => BinaryState.Write<float>(writer, _laneReturn);

    /// <summary>Restores what <see cref="Save"/> wrote and takes the shared statistics' normalizers as they stand (load those first).</summary>
    public void Load(BinaryReader reader)
    {
        BinaryState.Read<float>(reader, _laneReturn, "lanes' discounted returns");
        Clear();
        // Whatever version the shared statistics have now (restored or not), take their normalizers.
        Version = -1;
        Refresh();
    }

    internal void Clear()
    {
        Observations.Clear();
        Returns.Clear();
    }

    void Normalize(ReadOnlySpan<float> raw, Span<float> destination)
    {
        int size = FrozenMean.Length;
        for (int i = 0; i < raw.Length; i++)
        {
            int j = i % size;
            destination[i] = Math.Clamp((raw[i] - FrozenMean[j]) * FrozenInverseStd[j], -Normalization.Clip, Normalization.Clip);
        }
    }
}
