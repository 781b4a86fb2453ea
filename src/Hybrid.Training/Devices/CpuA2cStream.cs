using Hybrid.Threading;
using Hybrid.Training.Runs;
using System.Numerics.Tensors;
using Hybrid.Training.Algorithms;

namespace Hybrid.Training.Devices;

/// <summary>The CPU: Hybrid's SIMD kernels, the lanes on a pool of persistent threads.</summary>
public sealed class CpuDevice : IComputeDevice
{
    /// <summary>The one instance.</summary>
    public static CpuDevice Instance { get; } = new();

    /// <inheritdoc/>
    public DeviceInfo Info => DeviceInfo.Cpu;

    /// <inheritdoc/>
    public ISyncStream OpenA2c(A2cConfig config) => new CpuA2cStream(config);

    /// <inheritdoc/>
    public IBatchPolicy OpenPolicy(ModelSpec spec, int maxRows) => new CpuBatchPolicy(spec, maxRows);

    /// <inheritdoc/>
    public IUnrollLearner OpenLearner(ModelSpec spec, LearnerShape shape) => new CpuUnrollLearner(spec, shape);
}

/// <summary>A lagged learner's gradient on the CPU: each unroll's loss gradient (Hybrid's network), averaged over the batch.</summary>
internal sealed class CpuUnrollLearner : IUnrollLearner
{
    readonly ActorCriticUpdate _update;
    readonly LearnerShape _shape;
    readonly VTraceClip? _clip;

    public CpuUnrollLearner(ModelSpec spec, LearnerShape shape)
    {
        _shape = shape;
        _update = new ActorCriticUpdate((ActorCriticNetwork)spec.Build(), shape.TMax, shape.Lanes);
        _clip = shape.RhoBar > 0 ? new VTraceClip(shape.RhoBar, shape.CBar) : null;
    }

    public LossTerms Gradient(ReadOnlySpan<float> theta, ReadOnlySpan<Rollout> rollouts, ReadOnlySpan<float[]> nextObservations, Span<float> gradient)
    {
        gradient.Clear();
        double policy = 0, value = 0, entropy = 0;
        for (int i = 0; i < rollouts.Length; i++)
        {
            LossTerms t = _update.AddGradient(theta, rollouts[i], nextObservations[i], 1f, _shape.ValueCoefficient, _shape.EntropyCoefficient, _clip, gradient);
            (policy, value, entropy) = (policy + t.Policy, value + t.Value, entropy + t.Entropy);
        }
        TensorPrimitives.Multiply(gradient, 1f / rollouts.Length, gradient);
        return new LossTerms((float)(policy / rollouts.Length), (float)(value / rollouts.Length), (float)(entropy / rollouts.Length));
    }

    public void Dispose() { }
}

/// <summary>The policy's batched forward pass on the CPU: Hybrid's network with its own copy of theta.</summary>
internal sealed class CpuBatchPolicy : IBatchPolicy
{
    readonly ActorCriticNetwork _net;
    readonly float[] _theta;

    public CpuBatchPolicy(ModelSpec spec, int maxRows)
    {
        _net = (ActorCriticNetwork)spec.Build();
        _net.EnsureCapacity(maxRows);
        _theta = new float[_net.ParameterCount];
    }

    public void SetParameters(ReadOnlySpan<float> theta) => theta.CopyTo(_theta);

    public void Predict(ReadOnlySpan<float> observations, int rows, Span<float> outputs)
    {
        _net.Forward(_theta, observations, rows);
        ReadOnlySpan<float> logits = _net.Policy(rows), values = _net.Values(rows);
        int actions = _net.Actions, width = actions + 1;
        for (int r = 0; r < rows; r++)
        {
            logits.Slice(r * actions, actions).CopyTo(outputs.Slice(r * width, actions));
            outputs[r * width + actions] = values[r];
        }
    }

    public void Dispose() { }
}

/// <summary>
/// A2C on the CPU. With K threads the lanes are cut into K groups: each thread steps its group's lanes, runs its
/// batched forward and backward passes, and the groups' gradients are summed in lane order before the one optimizer
/// step. Deterministic for a seed, and equal to one thread up to the order of float sums: lane i draws its actions
/// from its own generator and its env lane is seeded as lane i of the whole, whichever group holds it. The actor's
/// pass computes each group's gradient on its own thread as soon as its rollout is done (it only needs theta as it
/// stands); the learner merges them and steps.
/// </summary>
internal sealed class CpuA2cStream : ISyncStream
{
    readonly A2cConfig _config;
    readonly ModelSpec _spec;
    readonly LaneGroup[] _groups;
    readonly float[] _theta, _gradient;
    readonly RmsProp _optimizer;
    readonly Normalization? _normalization;
    readonly GroupJob _job;
    readonly LearnJob _learn;

    public CpuA2cStream(A2cConfig config)
    {
        _config = config;
        int n = config.NumEnvs;

        // Network, theta and RMSProp; the lanes cut into one group per thread (at least one lane each).
        ModelSpec spec = _spec = Acting.ActorCriticSpec(config);
        _theta = Acting.InitialTheta(spec.Build(), config.Seed);
        _gradient = new float[_theta.Length];
        _optimizer = UpdateRules.RmsProp(config, _theta.Length);
        var actionRng = new Rng((ulong)config.Seed, RandomStreams.LaneActions);
        _normalization = Normalization.For(config, EnvRegistry.Spec(config.Env));
        _groups = new LaneGroup[Math.Min(config.Threads, n)];
        for (int g = 0, first = 0; g < _groups.Length; g++)
        {
            int lanes = n / _groups.Length + (g < n % _groups.Length ? 1 : 0);
            _groups[g] = new LaneGroup(config, spec, first, lanes, actionRng, _normalization);
            first += lanes;
        }
        _job = new GroupJob(_groups, _theta, config);
        _learn = new LearnJob(_groups, _theta, _gradient, _optimizer, n);
    }

    public int Threads => _groups.Length;

    public void Collect(RunContext run)
    {
        // Each group's t_max steps and gradient (Group below), groups on their own threads.
        _job.Run();

        // Count steps and episodes as one thread stepping every lane would: step by step, in lane order. The
        // normalization statistics take in what the groups saw, in lane order, for the next rollout.
        for (int t = 0; t < _config.TMax; t++)
        {
            run.Metrics.AddSteps(_config.NumEnvs);
            foreach (LaneGroup group in _groups) run.Metrics.AddEpisodes(group.EpisodesOf(t));
        }
        if (_normalization is not null)
        {
            foreach (LaneGroup group in _groups) _normalization.Merge(group.Normalization!);
            foreach (LaneGroup group in _groups) group.Normalization!.Refresh();
        }
    }

    public void Learn(float learningRate, RunContext run)
    {
        // The gradient of the loss averaged over all N * t_max samples is the groups' gradients weighted by their share
        // of the lanes, summed in lane order; then one clip and one RMSProp step. The main thread does it for one group
        // or a small network; otherwise the threads share it, a slice of the parameters each (LearnJob).
        long index = run.Metrics.Updates + 1;
        LossTerms terms = Terms("a2c", index);
        _learn.Run(_config.MaxGradNorm, learningRate, index, onePart: _groups.Length == 1 || _theta.Length < LearnJob.MinParameters);
        run.Metrics.AddUpdate(terms);
    }

    public void SetParameters(ReadOnlySpan<float> theta) => theta.CopyTo(_theta);

    public LossTerms Gradient(Span<float> gradient, RunContext run)
    {
        LossTerms terms = Terms("hybrid sync stream", run.Metrics.Updates + 1);
        _learn.MergeInto(gradient);
        return terms;
    }

    /// <summary>The loss terms of the rollout just collected (the groups' weighted by their share of the lanes), checked finite.</summary>
    LossTerms Terms(string who, long index)
    {
        int n = _config.NumEnvs;
        var terms = default(LossTerms);
        foreach (LaneGroup group in _groups)
        {
            float share = (float)group.Lanes / n;
            terms = new LossTerms(terms.Policy + share * group.Terms.Policy, terms.Value + share * group.Terms.Value,
                terms.Entropy + share * group.Terms.Entropy);
        }
        UpdateRules.CheckFinite(terms, who, index);
        return terms;
    }

    public void Finish(RunContext run)
    {
        if (_normalization is not null) run.WriteFile("normalization.json", _normalization.ToJson());
    }

    const string Kind = "a2c on the CPU";

    public CheckpointData Save(RunContext run) => RunState.Save(_spec, _theta, _optimizer, Kind, SaveLanes, _normalization);

    public void Load(CheckpointData checkpoint) => RunState.Load(checkpoint, _spec, _theta, _optimizer, Kind, LoadLanes, _normalization);

    /// <summary>Every lane group's env state, action generators and reward-normalization returns.</summary>
    void SaveLanes(BinaryWriter writer)
    {
        writer.Write(_groups.Length);
        foreach (LaneGroup group in _groups)
        {
            group.Env.SaveState(writer);
            foreach (Rng rng in group.Rngs) rng.Save(writer);
            group.Normalization?.Save(writer);
        }
    }

    /// <summary>Restores what <see cref="SaveLanes"/> wrote (normalization statistics first, where there are any).</summary>
    void LoadLanes(BinaryReader reader)
    {
        int groups = reader.ReadInt32();
        if (groups != _groups.Length) throw new InvalidDataException($"the checkpoint's a2c run had {groups} lane groups; this one has {_groups.Length}.");
        // The shared statistics are restored by now: each group's tally takes their normalizers as it loads.
        foreach (LaneGroup group in _groups)
        {
            group.Env.LoadState(reader);
            foreach (Rng rng in group.Rngs) rng.Load(reader);
            group.Normalization?.Load(reader);
        }
    }

    public void Dispose() { }

    /// <summary>One group's rollout and gradient, from theta as it stands.</summary>
    static void Group(LaneGroup group, float[] theta, A2cConfig config)
    {
        group.Rollout.Clear();
        group.ClearEpisodes();
        for (int t = 0; t < config.TMax; t++)
        {
            Acting.Step(group.Net, theta, group.Env, group.Rollout, config.Gamma, group.Rngs, recordLogProbabilities: false, group.Normalization);
            group.KeepEpisodes(t);
        }
        Array.Clear(group.Gradient);
        group.Terms = group.Update.AddGradient(theta, group.Rollout, Acting.Seen(group.Env, group.Normalization), config.GaeLambda, config.ValueCoef,
            config.EntropyCoef, null, group.Gradient);
    }

    /// <summary>Lanes first..first+Lanes-1 of the run: their env, network scratch, rollout, generators and gradient.</summary>
    sealed class LaneGroup
    {
        readonly EpisodeRecord[] _episodes;
        readonly int[] _episodeStart;
        int _episodeCount;

        public LaneGroup(A2cConfig config, ModelSpec spec, int first, int lanes, Rng actionRng, Normalization? normalization)
        {
            Normalization = normalization is null ? null : new NormalizationTally(normalization, lanes);
            Lanes = lanes;
            Env = config.MakeEnv(lanes);
            Env.Reset((ulong)config.Seed, first);
            Net = (ActorCriticNetwork)spec.Build();
            Rollout = new Rollout(config.TMax, lanes, Env.Spec);
            Update = new ActorCriticUpdate(Net, config.TMax, lanes);
            Gradient = new float[Net.ParameterCount];
            Rngs = new Rng[lanes];
            for (int i = 0; i < lanes; i++) Rngs[i] = actionRng.Split((ulong)(first + i));
            // A lane ends at most one episode per step.
            _episodes = new EpisodeRecord[config.TMax * lanes];
            _episodeStart = new int[config.TMax + 1];
        }

        public int Lanes { get; }
        public VectorEnv Env { get; }
        public ActorCriticNetwork Net { get; }
        public Rollout Rollout { get; }
        public ActorCriticUpdate Update { get; }
        public float[] Gradient { get; }
        public Rng[] Rngs { get; }
        public NormalizationTally? Normalization { get; }
        public LossTerms Terms { get; set; }

        public void ClearEpisodes() => _episodeCount = 0;

        /// <summary>Moves the episodes that step t ended from the env's log to this group's, tagged with t.</summary>
        public void KeepEpisodes(int t)
        {
            _episodeStart[t] = _episodeCount;
            ReadOnlySpan<EpisodeRecord> records = Env.Episodes.Records;
            records.CopyTo(_episodes.AsSpan(_episodeCount));
            _episodeCount += records.Length;
            _episodeStart[t + 1] = _episodeCount;
            Env.Episodes.Clear();
        }

        public ReadOnlySpan<EpisodeRecord> EpisodesOf(int t) => _episodes.AsSpan(_episodeStart[t], _episodeStart[t + 1] - _episodeStart[t]);
    }

    /// <summary>
    /// The update, in two passes over the parameters: the weighted sum of the group gradients with its sum of squares,
    /// then, once the main thread has the norm, the clipped RMSProp step with theta's sum (for the divergence check),
    /// each pass reading its arrays once. The parameters are cut into one slice per group (fixed by the group count, so
    /// the float sums do not depend on how many threads are free); with several groups the threads take a slice each.
    /// </summary>
    sealed class LearnJob(LaneGroup[] groups, float[] theta, float[] gradient, RmsProp optimizer, int lanes) : IRowJob
    {
        /// <summary>
        /// Below this many parameters the main thread does both passes alone: waking the other threads twice costs more
        /// than the work (CartPole's 4,675-parameter network ran at 0.79-0.91x on two threads with the shared update;
        /// MinAtar's 132,695 gained from it). Fixed by the network, so a run's float sums do not depend on timing.
        /// </summary>
        public const int MinParameters = 65_536;

        readonly double[] _partial = new double[groups.Length];
        readonly float[] _weights = [.. groups.Select(g => (float)g.Lanes / lanes)];
        bool _stepping;
        float _scale, _learningRate;

        public void Run(float maxNorm, float learningRate, long index, bool onePart)
        {
            _stepping = false;
            RunParts(onePart);
            double sumOfSquares = 0;
            foreach (double p in _partial) sumOfSquares += p;
            float norm = (float)Math.Sqrt(sumOfSquares);
            UpdateRules.CheckNorm(norm, "a2c", index);

            // Clip (as GradientTools.ClipGlobalNorm does) inside the step; the slices' parameter sums check theta.
            (_scale, _learningRate, _stepping) = (maxNorm > 0 ? GradientTools.ClipScale(norm, maxNorm) : 1f, learningRate, true);
            RunParts(onePart);
            double thetaSum = 0;
            foreach (double p in _partial) thetaSum += p;
            UpdateRules.CheckParameterSum(thetaSum, "a2c", index);
        }

        void RunParts(bool onePart)
        {
            if (onePart || !RowSplitter.LaneGroups.TryRun(this, groups.Length)) Execute(0, 1);
        }

        public void Execute(int part, int parts)
        {
            for (int s = part; s < groups.Length; s += parts)
            {
                int start = (int)((long)theta.Length * s / groups.Length), end = (int)((long)theta.Length * (s + 1) / groups.Length);
                Span<float> g = gradient.AsSpan(start, end - start);
                _partial[s] = _stepping
                    ? optimizer.StepScaled(theta.AsSpan(start, end - start), g, _scale, _learningRate, start)
                    : MergeSlice(start, g);
            }
        }

        /// <summary>The whole gradient of the mean loss of the rollout just collected into <paramref name="destination"/>, on this thread (the hybrid regime's stream applies it itself).</summary>
        public void MergeInto(Span<float> destination) => MergeSlice(0, destination);

        /// <summary>g = the groups' gradients weighted by their share of the lanes, summed in lane order; returns sum(g^2).</summary>
        double MergeSlice(int start, Span<float> g)
        {
            int n = g.Length, i = 0;
            var total = System.Numerics.Vector<float>.Zero;
            int width = System.Numerics.Vector<float>.Count;
            for (; i <= n - width; i += width)
            {
                var v = new System.Numerics.Vector<float>(groups[0].Gradient, start + i) * _weights[0];
                for (int k = 1; k < groups.Length; k++) v += new System.Numerics.Vector<float>(groups[k].Gradient, start + i) * _weights[k];
                v.CopyTo(g[i..]);
                total += v * v;
            }
            double sum = System.Numerics.Vector.Sum(total);
            for (; i < n; i++)
            {
                float v = groups[0].Gradient[start + i] * _weights[0];
                for (int k = 1; k < groups.Length; k++) v += groups[k].Gradient[start + i] * _weights[k];
                g[i] = v;
                sum += v * v;
            }
            return sum;
        }
    }

    /// <summary>Runs every group once, group g on part g mod parts of the trainer's thread pool (no allocation per call).</summary>
    sealed class GroupJob(LaneGroup[] groups, float[] theta, A2cConfig config) : IRowJob
    {
        public void Run()
        {
            // A busy pool (another run in the same process holds it) means this run steps its groups on one thread.
            if (groups.Length == 1 || !RowSplitter.LaneGroups.TryRun(this, groups.Length)) Execute(0, 1);
        }

        public void Execute(int part, int parts)
        {
            for (int g = part; g < groups.Length; g += parts) Group(groups[g], theta, config);
        }
    }
}
