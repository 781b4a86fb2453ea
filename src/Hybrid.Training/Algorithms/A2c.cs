using System.Numerics.Tensors;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// A2C settings. The default values are Stable-Baselines3's A2C values (themselves OpenAI Baselines'): 8 lanes, t_max 5,
/// RMSProp (lr 7e-4, alpha 0.99, eps 1e-5), value weight 0.5, gradient-norm clip 0.5, gamma 0.99, and the
/// rl-baselines3-zoo CartPole-v1 entry (entropy weight 0, budget 5e5). The same values do not make the same algorithm
/// as SB3's, which differs in three ways (README, "Where Hybrid differs"): SB3's value loss is the mean squared error,
/// Hybrid's half of it (so a value weight of 0.5 here weighs the value gradient half as much); SB3's MLP policy has
/// separate policy and value networks, Hybrid one shared torso; PyTorch's RMSprop adds eps outside the square root,
/// Hybrid's inside, as Mnih et al. 2016 write it.
/// </summary>
public sealed record A2cConfig : ActorCriticConfig
{
    /// <inheritdoc/>
    public override string Algo => "a2c";

    /// <summary>Env lanes stepped together (N).</summary>
    [Description("Env lanes stepped together (N).")]
    public int NumEnvs { get; init; } = 8;

    /// <summary>GAE lambda; 1 gives n-step returns.</summary>
    [Description("GAE lambda; 1 gives the paper's n-step returns.")]
    public float GaeLambda { get; init; } = 1f;

    /// <summary>Samples per update.</summary>
    public int BatchSize => NumEnvs * TMax;

    /// <inheritdoc/>
    public override int TotalEnvs => NumEnvs;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(NumEnvs >= 1, "num_envs", NumEnvs, ">= 1");
        Require(GaeLambda is >= 0 and <= 1, "gae_lambda", GaeLambda, "in [0, 1]");
    }
}

/// <summary>
/// Synchronous advantage actor-critic: the synchronous, batched variant of Mnih et al. 2016's A3C (as OpenAI
/// Baselines named it). N lanes act together with one batched forward pass per step; after t_max steps one update
/// uses all N * t_max samples. With K threads the lanes are cut into K groups: each thread steps its group's lanes,
/// runs its batched forward and backward passes, and the groups' gradients are summed in lane order before the one
/// optimizer step. Deterministic for a seed, and equal to one thread up to the order of float sums: lane i draws
/// its actions from its own generator and its env lane is seeded as lane i of the whole, whichever group holds it.
/// </summary>
public static class A2c
{
    /// <summary>Trains until the budget is spent (or the run is solved, with <see cref="AlgoConfig.StopWhenSolved"/>).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(monitor);
        config.Validate();
        int n = config.NumEnvs;

        // Network, theta and RMSProp; the lanes cut into one group per thread (at least one lane each).
        ModelSpec spec = Acting.ActorCriticSpec(config);
        float[] theta = Acting.InitialTheta(spec.Build(), config.Seed);
        var gradient = new float[theta.Length];
        RmsProp optimizer = UpdateRules.RmsProp(config, theta.Length);
        var actionRng = new Rng((ulong)config.Seed, 1);
        Normalization? normalization = Normalization.For(config, EnvRegistry.Spec(config.Env));
        var groups = new LaneGroup[Math.Min(config.Threads, n)];
        for (int g = 0, first = 0; g < groups.Length; g++)
        {
            int lanes = n / groups.Length + (g < n % groups.Length ? 1 : 0);
            groups[g] = new LaneGroup(config, spec, first, lanes, actionRng, normalization);
            first += lanes;
        }
        var job = new GroupJob(groups, theta, config);
        var learn = new LearnJob(groups, theta, gradient, optimizer, n);

        while (!monitor.ShouldStop)
        {
            // Act and take each group's gradient: t_max steps of its lanes with one batched forward pass per step, then
            // the gradient of its N_g * t_max samples (A2c.Group below). Groups run on their own threads.
            job.Run();

            // Count steps and episodes as one thread stepping every lane would: step by step, in lane order. The
            // normalization statistics take in what the groups saw, in lane order, for the next rollout.
            for (int t = 0; t < config.TMax; t++)
            {
                monitor.AddSteps(n);
                foreach (LaneGroup group in groups) monitor.AddEpisodes(group.EpisodesOf(t));
            }
            if (normalization is not null)
            {
                foreach (LaneGroup group in groups) normalization.Merge(group.Normalization!);
                foreach (LaneGroup group in groups) group.Normalization!.Refresh();
            }

            // Learn: the gradient of the loss averaged over all N * t_max samples is the groups' gradients weighted by
            // their share of the lanes, summed in lane order; then one clip and one RMSProp step. The main thread does
            // it for one group or a small network; otherwise the threads share it, a slice of the parameters each (A2c.LearnJob).
            long index = monitor.Updates + 1;
            var terms = default(LossTerms);
            foreach (LaneGroup group in groups)
            {
                float share = (float)group.Lanes / n;
                terms = new LossTerms(terms.Policy + share * group.Terms.Policy, terms.Value + share * group.Terms.Value,
                    terms.Entropy + share * group.Terms.Entropy);
            }
            UpdateRules.CheckFinite(terms, "a2c", index);
            float learningRate = UpdateRules.LearningRate(config, monitor.EnvSteps);
            if (groups.Length == 1 || theta.Length < LearnJob.MinParameters)
            {
                Array.Clear(gradient);
                foreach (LaneGroup group in groups)
                    TensorPrimitives.MultiplyAdd(group.Gradient, (float)group.Lanes / n, gradient, gradient);
                UpdateRules.Clip(gradient, config.MaxGradNorm, "a2c", index);
                optimizer.Step(theta, gradient, learningRate);
                UpdateRules.CheckParameters(theta, "a2c", index);
            }
            else learn.Run(config.MaxGradNorm, learningRate, index);
            monitor.AddUpdate(terms);
            monitor.Flush();
        }
        if (normalization is not null) monitor.WriteFile("normalization.json", normalization.ToJson());
        return monitor.Finish(groups.Length, n);
    }

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
    /// The update of several groups, on the same threads: the parameters are cut into one slice per group (fixed by
    /// the group count, so the float sums do not depend on how many threads are free), and for each slice a thread
    /// sums the weighted group gradients and their squares, then, once the main thread has the norm, scales by the
    /// clip and takes the RMSProp step on that slice.
    /// </summary>
    sealed class LearnJob(LaneGroup[] groups, float[] theta, float[] gradient, RmsProp optimizer, int lanes) : IRowJob
    {
        /// <summary>
        /// Below this many parameters the main thread sums and steps alone: waking the other threads twice costs more
        /// than the work (CartPole's 4,675-parameter network ran at 0.79-0.91x on two threads with the shared update;
        /// MinAtar's 132,695 gained from it). Fixed by the network, so a run's float sums do not depend on timing.
        /// </summary>
        public const int MinParameters = 65_536;

        readonly double[] _partial = new double[groups.Length];
        bool _stepping;
        float _scale, _learningRate;

        public void Run(float maxNorm, float learningRate, long index)
        {
            // The weighted sum and the sum of squares, slice by slice.
            _stepping = false;
            RunParts();
            double sumOfSquares = 0;
            foreach (double p in _partial) sumOfSquares += p;
            float norm = (float)Math.Sqrt(sumOfSquares);
            UpdateRules.CheckNorm(norm, "a2c", index);

            // Clip (as GradientTools.ClipGlobalNorm does) and step, slice by slice; the slices' parameter sums check theta.
            (_scale, _learningRate, _stepping) = (maxNorm > 0 ? GradientTools.ClipScale(norm, maxNorm) : 1f, learningRate, true);
            RunParts();
            double thetaSum = 0;
            foreach (double p in _partial) thetaSum += p;
            UpdateRules.CheckParameterSum(thetaSum, "a2c", index);
        }

        void RunParts()
        {
            if (!RowSplitter.Shared.TryRun(this, groups.Length)) Execute(0, 1);
        }

        public void Execute(int part, int parts)
        {
            for (int s = part; s < groups.Length; s += parts)
            {
                int start = (int)((long)theta.Length * s / groups.Length), end = (int)((long)theta.Length * (s + 1) / groups.Length);
                Span<float> g = gradient.AsSpan(start, end - start);
                if (!_stepping)
                {
                    g.Clear();
                    foreach (LaneGroup group in groups)
                        TensorPrimitives.MultiplyAdd(group.Gradient.AsSpan(start, end - start), (float)group.Lanes / lanes, g, g);
                    _partial[s] = TensorPrimitives.SumOfSquares(g);
                }
                else
                {
                    if (_scale != 1f) TensorPrimitives.Multiply(g, _scale, g);
                    Span<float> t = theta.AsSpan(start, end - start);
                    optimizer.Step(t, g, _learningRate, start);
                    _partial[s] = TensorPrimitives.Sum(t);
                }
            }
        }
    }

    /// <summary>Runs every group once, group g on part g mod parts of the trainer's thread pool (no allocation per call).</summary>
    sealed class GroupJob(LaneGroup[] groups, float[] theta, A2cConfig config) : IRowJob
    {
        public void Run()
        {
            // A busy pool (another run in the same process holds it) means this run steps its groups on one thread.
            if (groups.Length == 1 || !RowSplitter.Shared.TryRun(this, groups.Length)) Execute(0, 1);
        }

        public void Execute(int part, int parts)
        {
            for (int g = part; g < groups.Length; g += parts) Group(groups[g], theta, config);
        }
    }
}
