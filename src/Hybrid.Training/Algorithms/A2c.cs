using System.Numerics.Tensors;
using Hybrid.Threading;
using Hybrid.Training.Devices;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// A2C settings. The default values are Stable-Baselines3's A2C values (themselves OpenAI Baselines'): 8 lanes, t_max 5,
/// RMSProp (lr 7e-4, alpha 0.99, eps 1e-5), value weight 0.5, gradient-norm clip 0.5, gamma 0.99, and the
/// rl-baselines3-zoo CartPole-v1 entry (entropy weight 0, budget 5e5). The same values do not make the same algorithm
/// as SB3's, which differs in three ways (docs/comparisons.md, "Where Hybrid differs"): SB3's value loss is the mean squared error,
/// Hybrid's half of it (so a value weight of 0.5 here weighs the value gradient half as much); SB3's MLP policy has
/// separate policy and value networks, Hybrid one shared torso; PyTorch's RMSprop adds eps outside the square root,
/// Hybrid's inside, as Mnih et al. 2016 write it.
/// </summary>
public sealed record A2cConfig : ActorCriticConfig, IRecurrentConfig
{
    /// <inheritdoc/>
    public override string Algo => "a2c";

    /// <summary>The env lanes stepped together (N).</summary>
    public LaneSettings Lanes { get; init; } = new();

    /// <summary>GAE's lambda.</summary>
    public ReturnSettings Advantage { get; init; } = new();

    /// <summary>Where the lanes, network and optimizer run.</summary>
    public DeviceSettings Compute { get; init; } = new();

    /// <summary>An LSTM after the torso, or none.</summary>
    public RecurrentSettings Memory { get; init; } = new();

    /// <summary>Samples per update.</summary>
    public int BatchSize => Lanes.NumEnvs * TMax;

    /// <inheritdoc/>
    public override int TotalEnvs => Lanes.NumEnvs;

    /// <inheritdoc/>
    private protected override long SamplesHeld => (long)Lanes.NumEnvs * TMax;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Lanes.Validate();
        Advantage.Validate();
        Compute.Validate();
        Memory.Validate();
        CheckSize();
    }
}

/// <summary>
/// Synchronous advantage actor-critic: the synchronous, batched variant of Mnih et al. 2016's A3C (as OpenAI
/// Baselines named it). N lanes act together with one batched forward pass per step; after t_max steps one update
/// uses all N * t_max samples. Where it runs is the device's business (<see cref="IComputeDevice"/>): on the CPU
/// (<see cref="CpuA2cStream"/>) the lanes are cut into one group per thread, deterministic for a seed; on a GPU the
/// env lanes, rollout, network and optimizer stay on the device and only metrics come back.
/// </summary>
public static class A2c
{
    /// <summary>Trains on the CPU until the budget is spent (or the run is solved, with <see cref="AlgoConfig.StopWhenSolved"/>).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunContext run) => Train(config, run, CpuDevice.Instance);

    /// <summary>Trains on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The config is invalid, or the device cannot run it; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunContext run, IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        UpdateRules.Begin(config, run);
        using ISyncStream stream = device.OpenA2c(config);
        if (run.Resumed is { } checkpoint) stream.Load(checkpoint);
        while (!run.ShouldStop)
        {
            // Act: t_max steps of every lane with one batched forward pass per step. Learn: one update from the
            // N * t_max samples (gradient of the mean loss, global-norm clip, RMSProp).
            stream.Collect(run);
            stream.Learn(UpdateRules.LearningRate(config, run.Metrics.EnvSteps), run);
            run.Metrics.Flush();
            // Between updates the stream's state is whole: a checkpoint taken here continues exactly.
            if (run.CheckpointDue) run.Checkpoints.Save(stream.Save(run));
        }
        stream.Finish(run);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(stream.Save(run));
        return run.Finish(stream.Threads, config.Lanes.NumEnvs, device.Info);
    }
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
        int n = config.Lanes.NumEnvs;

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
            run.Metrics.AddSteps(_config.Lanes.NumEnvs);
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
        int n = _config.Lanes.NumEnvs;
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

    /// <summary>Every lane group's env state, action generators, reward-normalization returns and, for a recurrent policy, carried LSTM state.</summary>
    void SaveLanes(BinaryWriter writer)
    {
        writer.Write(_groups.Length);
        foreach (LaneGroup group in _groups)
        {
            group.Env.SaveState(writer);
            foreach (Rng rng in group.Rngs) rng.Save(writer);
            group.Normalization?.Save(writer);
            if (group.Rollout.RecurrentSize == 0) continue;
            BinaryState.Write<float>(writer, group.Rollout.Hidden);
            BinaryState.Write<float>(writer, group.Rollout.Cell);
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
            // The episodes go on where they were: so does each lane's memory of them.
            if (group.Rollout.RecurrentSize == 0) continue;
            BinaryState.Read<float>(reader, group.Rollout.Hidden, "lane LSTM h");
            BinaryState.Read<float>(reader, group.Rollout.Cell, "lane LSTM c");
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
        group.Terms = group.Update.AddGradient(theta, group.Rollout, Acting.Seen(group.Env, group.Normalization), config.Advantage.GaeLambda, config.ValueCoef,
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
            Rollout = new Rollout(config.TMax, lanes, Env.Spec, Net.RecurrentSize);
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
