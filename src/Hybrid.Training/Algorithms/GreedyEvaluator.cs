namespace Hybrid.Training.Algorithms;

/// <summary>
/// Periodic greedy evaluation of a Q-network in its own env (docs/architecture.md: value-based methods count "solved" on
/// greedy episodes): E lanes, one episode each, actions argmax_a Q(s, a) on a snapshot of theta (for a deterministic
/// policy, mu(s) without its exploration noise, in the env's box). Its steps are not
/// training steps. An episode still going after the evaluation's step cap is cut there and counted with the return it
/// has so far, as truncated: a greedy policy that never loses (MinAtar Seaquest may run 108,000 steps) cannot hold the
/// run in one evaluation for minutes.
/// </summary>
internal sealed class GreedyEvaluator
{
    readonly VectorEnv _env;
    readonly QNetwork _net;
    readonly float[] _theta;
    readonly int[] _actions;
    readonly float[] _box;
    readonly BoxSpace? _boxSpace;
    readonly bool[] _done;
    readonly EpisodeRecord[] _firsts;
    readonly Rng _seeds;

    readonly int _maxSteps;

    public GreedyEvaluator(VectorEnv env, ModelSpec spec, int episodes, int seed, int maxSteps = int.MaxValue)
    {
        _maxSteps = maxSteps;
        _env = env;
        _net = (QNetwork)spec.Build();
        _theta = new float[_net.ParameterCount];
        _actions = new int[episodes];
        // A deterministic policy's actions: squashed, then mapped onto the env's box.
        _boxSpace = spec.Kind == ModelKind.Deterministic ? (BoxSpace)env.Spec.ActionSpace : null;
        _box = new float[_boxSpace is null ? 0 : episodes * _boxSpace.Size];
        _done = new bool[episodes];
        _firsts = new EpisodeRecord[episodes];
        _seeds = new Rng((ulong)seed, RandomStreams.GreedyEvaluation);
    }

    /// <summary>Writes where the evaluations' reset seeds stand (a resumed run then evaluates on the same episodes).</summary>
    public void SaveSeeds(BinaryWriter writer) => _seeds.Save(writer);

    /// <summary>Restores what <see cref="SaveSeeds"/> wrote.</summary>
    public void LoadSeeds(BinaryReader reader) => _seeds.Load(reader);

    /// <summary>Runs one episode per lane greedily with a copy of <paramref name="theta"/>; returns the episodes, in lane order.</summary>
    public ReadOnlySpan<EpisodeRecord> Run(ReadOnlySpan<float> theta)
    {
        theta.CopyTo(_theta);
        int n = _actions.Length, remaining = n;
        _env.Reset(_seeds.NextUInt64());
        _env.Episodes.Clear();
        Array.Clear(_done);
        for (int step = 0; remaining > 0; step++)
        {
            if (step == _maxSteps)
            {
                // The cap: the lanes still in their first episode end here, truncated, with what they have.
                for (int lane = 0; lane < n; lane++)
                    if (!_done[lane]) _firsts[lane] = new EpisodeRecord(lane, _env.RunningReturn(lane), _maxSteps, Terminated: false);
                break;
            }
            _net.Forward(_theta, _env.Observations, n);
            ReadOnlySpan<float> q = _net.QValues(n);
            if (_boxSpace is not null)
            {
                DeterministicActions.Squash(q, n, _box);
                DeterministicActions.ToBox(_box, _boxSpace, _box);
                _env.Step(_box);
            }
            else
            {
                for (int lane = 0; lane < n; lane++) _actions[lane] = Nn.Heads.Categorical.Greedy(q.Slice(lane * _net.Actions, _net.Actions));
                _env.Step(_actions);
            }
            foreach (EpisodeRecord e in _env.Episodes.Records)
            {
                if (_done[e.Lane]) continue; // lanes keep stepping after their first episode; only that one counts
                _done[e.Lane] = true;
                _firsts[e.Lane] = e;
                remaining--;
            }
            _env.Episodes.Clear();
        }
        return _firsts;
    }
}
