using Hybrid.Nn.Heads;

namespace Hybrid.Training.Algorithms;

/// <summary>Returns of evaluation episodes, one per lane, in lane order.</summary>
public sealed record EvaluationResult(double[] Returns, int[] Lengths, long Steps);

/// <summary>
/// A trained agent read back from a run folder's checkpoint: its config, network, parameters and observation
/// normalization. Actor-critic policies act by sampling their distribution, or greedily (the most likely action, the
/// Gaussian's mean); Q-learning policies act greedily on Q.
/// </summary>
public sealed class TrainedPolicy
{
    readonly Network _net; // for its spec; each actor builds its own
    readonly float[] _theta;
    readonly Normalization? _normalization;

    TrainedPolicy(string directory, CheckpointData checkpoint, AlgoConfig config, Network net, Normalization? normalization)
    {
        (Directory, Checkpoint, Config, _net, _normalization) = (directory, checkpoint, config, net, normalization);
        _theta = checkpoint.Parameters;
    }

    /// <summary>The run folder.</summary>
    public string Directory { get; }

    /// <summary>The checkpoint: parameters, counters.</summary>
    public CheckpointData Checkpoint { get; }

    /// <summary>The run's config.</summary>
    public AlgoConfig Config { get; }

    /// <summary>Whether the policy samples its actions unless told to act greedily (actor-critic) or is greedy anyway (Q, deterministic).</summary>
    public bool Stochastic => _net is ActorCriticNetwork;

    /// <summary>Reads the checkpoint in <paramref name="runDirectory"/>.</summary>
    /// <exception cref="ArgumentException">The folder is missing or holds no checkpoint (the message says which).</exception>
    /// <exception cref="InvalidDataException">The checkpoint is damaged, or does not fit its own config.</exception>
    /// <exception cref="FormatException">The checkpoint's config cannot be read.</exception>
    public static TrainedPolicy Load(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        if (File.Exists(runDirectory)) throw new ArgumentException($"'{runDirectory}' is a file; expected the folder of a run made by train.");
        if (!System.IO.Directory.Exists(runDirectory)) throw new ArgumentException($"'{runDirectory}' does not exist; expected the folder of a run made by train.");
        string file = Path.Combine(runDirectory, RunFolder.CheckpointFile);
        if (!File.Exists(file)) throw new ArgumentException($"'{runDirectory}' holds no {RunFolder.CheckpointFile}; expected the folder of a run made by train.");
        CheckpointData checkpoint = Nn.Checkpoint.Load(file);
        RunFolder.CheckCheckpointIsTheFolders(runDirectory, checkpoint.Config);
        var settings = ConfigBinder.ParseRun(checkpoint.Config, file, out string algo);
        if (!Trainer.Algorithms.Contains(algo)) throw new InvalidDataException($"checkpoint '{file}' is of an unknown algorithm '{algo}'.");
        AlgoConfig config = ConfigBinder.Apply(Trainer.DefaultConfig(algo), settings);
        ModelSpec spec = Acting.PolicySpec(config);
        if (!checkpoint.Model.Equals(spec))
            throw new InvalidDataException($"checkpoint '{file}' holds the model '{checkpoint.Model}', but its config builds '{spec}'.");
        Normalization? normalization = config is ActorCriticConfig ac ? Normalization.For(ac, EnvRegistry.Spec(config.Env)) : null;
        if (normalization is not null) RunState.LoadNormalization(checkpoint, normalization);
        return new TrainedPolicy(Path.GetFullPath(runDirectory), checkpoint, config, spec.Build(), normalization);
    }

    /// <summary>A policy that acts on <paramref name="lanes"/> lanes at once (its own network scratch and normalizer).</summary>
    public Actor ActorFor(int lanes) => new(this, lanes);

    /// <summary>
    /// Plays <paramref name="episodes"/> episodes, one per lane, from lanes seeded with <paramref name="seed"/> (use one
    /// the run did not train on), and returns each lane's first episode. <paramref name="progress"/> hears how many have ended.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 1 episode.</exception>
    public EvaluationResult Evaluate(int episodes, bool greedy, ulong seed, Action<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(episodes, 1);
        VectorEnv env = Config.MakeEnv(episodes);
        env.Reset(seed);
        Actor actor = ActorFor(episodes);
        Rng[] rngs = [.. Enumerable.Range(0, episodes).Select(i => new Rng(seed, RandomStreams.PolicyEpisodes + (ulong)i))];
        var returns = new double[episodes];
        var lengths = new int[episodes];
        var done = new bool[episodes];
        int remaining = episodes;
        long steps = 0;
        int[] discrete = new int[env.Spec.IsDiscrete ? episodes : 0];
        float[] box = new float[env.Spec.IsDiscrete ? 0 : episodes * env.Spec.ActionSpace.Size];
        while (remaining > 0)
        {
            actor.Act(env.Observations, greedy, rngs, discrete, box);
            if (env.Spec.IsDiscrete) env.Step(discrete);
            else env.Step(box);
            actor.AfterStep(env.Terminated, env.Truncated);
            steps += episodes;
            foreach (EpisodeRecord e in env.Episodes.Records)
            {
                if (done[e.Lane]) continue; // a lane steps on after its first episode; only that one counts
                (done[e.Lane], returns[e.Lane], lengths[e.Lane]) = (true, e.Return, e.Length);
                remaining--;
                progress?.Invoke(episodes - remaining);
            }
            env.Episodes.Clear();
        }
        return new EvaluationResult(returns, lengths, steps);
    }

    /// <summary>The policy acting on a fixed number of lanes (a recurrent one carrying each lane's LSTM state; call <see cref="AfterStep"/> after every env step).</summary>
    public sealed class Actor
    {
        readonly TrainedPolicy _policy;
        readonly Network _net;
        readonly NormalizationTally? _normalizer;
        readonly int _lanes;
        readonly float[] _hidden, _cell;

        internal Actor(TrainedPolicy policy, int lanes)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
            (_policy, _lanes) = (policy, lanes);
            _net = policy._net.Spec.Build();
            _normalizer = policy._normalization is null ? null : new NormalizationTally(policy._normalization, lanes);
            int state = lanes * (_net is ActorCriticNetwork ac ? ac.RecurrentSize : 0);
            (_hidden, _cell) = (new float[state], new float[state]);
        }

        /// <summary>Tells a recurrent policy which lanes' episodes the last step ended: their state starts again from zero. Nothing for the others.</summary>
        public void AfterStep(ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated)
        {
            if (_hidden.Length == 0) return;
            int units = _hidden.Length / _lanes;
            for (int lane = 0; lane < _lanes; lane++)
                if (terminated[lane] || truncated[lane])
                {
                    _hidden.AsSpan(lane * units, units).Clear();
                    _cell.AsSpan(lane * units, units).Clear();
                }
        }

        /// <summary>
        /// Actions for a batch of raw observations (normalized as in training): into <paramref name="discrete"/> for a
        /// discrete action space, <paramref name="box"/> for a continuous one. <paramref name="rngs"/>: one per lane, for sampling.
        /// </summary>
        public void Act(ReadOnlySpan<float> observations, bool greedy, ReadOnlySpan<Rng> rngs, Span<int> discrete, Span<float> box)
        {
            ReadOnlySpan<float> seen = _normalizer is null ? observations : _normalizer.Peek(observations);
            float[] theta = _policy._theta;
            if (_net is QNetwork { Spec.Kind: ModelKind.Deterministic } mu)
            {
                // A deterministic policy acts the same whether greedy or not (its exploration noise was training's).
                mu.Forward(theta, seen, _lanes);
                Span<float> scaled = box[..(_lanes * mu.Actions)];
                DeterministicActions.Squash(mu.QValues(_lanes), _lanes, scaled);
                DeterministicActions.ToBox(scaled, (BoxSpace)EnvRegistry.Spec(_policy.Config.Env).ActionSpace, scaled);
                return;
            }
            if (_net is QNetwork q)
            {
                q.Forward(theta, seen, _lanes);
                ReadOnlySpan<float> values = q.QValues(_lanes);
                for (int lane = 0; lane < _lanes; lane++) discrete[lane] = Categorical.Greedy(values.Slice(lane * q.Actions, q.Actions));
                return;
            }
            var ac = (ActorCriticNetwork)_net;
            if (ac.RecurrentSize > 0) ac.Step(theta, seen, _hidden, _cell, _lanes);
            else ac.Forward(theta, seen, _lanes);
            ReadOnlySpan<float> head = ac.Policy(_lanes);
            if (ac.Spec.ActionKind == ActionKind.Discrete)
            {
                for (int lane = 0; lane < _lanes; lane++)
                {
                    ReadOnlySpan<float> logits = head.Slice(lane * ac.Actions, ac.Actions);
                    discrete[lane] = greedy ? Categorical.Greedy(logits) : Categorical.Sample(logits, rngs[lane]);
                }
                return;
            }
            if (greedy) head.CopyTo(box);
            else Acting.SampleGaussian(head, ac.LogStd.Of(theta), rngs, box, default);
        }
    }
}
