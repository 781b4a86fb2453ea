using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Settings of D4PG (Barth-Maron et al. 2018): DDPG's, with a categorical distributional critic of <see cref="Atoms"/>
/// atoms evenly spaced on [<see cref="VMin"/>, <see cref="VMax"/>] (51 in the paper, after Bellemare et al. 2017) and
/// 5-step returns (the paper's N = 5). The support should hold the returns the task can give: the presets set it per env.
/// It trains with DDPG's loop (<see cref="Ddpg.Train"/>): the critic's target is the distribution of
/// R + discount Z'(s', mu'(s')) projected onto the support (Bellemare et al. 2017), its loss the cross-entropy to that
/// target (under prioritized replay, each transition's cross-entropy is its new priority), and the actor climbs the
/// distribution's mean.
/// </summary>
public sealed record D4pgConfig : DdpgConfig
{
    /// <summary>D4PG's defaults.</summary>
    public D4pgConfig()
    {
        NStep = 5;
    }

    /// <inheritdoc/>
    public override string Algo => "d4pg";

    /// <summary>Atoms of the critic's distribution.</summary>
    [Description("d4pg: atoms of the critic's categorical return distribution, evenly spaced on [v_min, v_max] (51 in Barth-Maron et al. 2018).")]
    public int Atoms { get; init; } = 51;

    /// <summary>The support's lowest return.</summary>
    [Description("d4pg: the lowest return the critic's distribution holds; targets below it count at it.")]
    public float VMin { get; init; } = -10f;

    /// <summary>The support's highest return.</summary>
    [Description("d4pg: the highest return the critic's distribution holds; targets above it count at it.")]
    public float VMax { get; init; } = 10f;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(Atoms >= 2, "atoms", Atoms, ">= 2");
        Require(float.IsFinite(VMin), "v_min", VMin, "a finite number");
        Require(float.IsFinite(VMax) && VMax > VMin, "v_max", VMax, $"a finite number above v_min ({VMin})");
    }

    /// <summary>The critic's support.</summary>
    public CategoricalSupport Support() => new(Atoms, VMin, VMax);

    /// <summary>How the actor threads feed the central replay (threads above 1).</summary>
    public DistributedSettings Distributed { get; init; } = new() { SamplesPerInsert = 4f };

    /// <summary>With more than one thread, the learner is a thread of its own beside the actors.</summary>
    public override int HelperThreads => Threads > 1 ? 1 : 0;

    /// <summary>One thread: the one loop; more: that many actor threads and a learner thread.</summary>
    private protected override void ValidateThreads()
    {
        Require(Threads >= 1, "threads", Threads, ">= 1");
        Distributed.Validate();
    }
}

/// <summary>
/// D4PG with K actor threads (threads above 1; Barth-Maron et al. 2018's distributed form, on Ape-X's machinery): each
/// actor steps its own lanes with its copy of the learner's actor (refreshed every actor_refresh_steps) plus
/// exploration noise and sends its n-step transitions in batches to one central replay (at the replay's largest
/// priority where it is prioritized); one learner thread draws batches, takes DDPG's critic and actor steps with the
/// categorical critic, sends the new priorities back, publishes the actor after every update and moves both targets
/// every target_update_interval updates. The samples-per-insert limiter holds actors that get ahead. Greedy evaluation
/// decides "solved". Not deterministic (the threads interleave); a resume continues from the parameters and the replay.
/// </summary>
public sealed class D4pgActors : ICentralLearner
{
    const string Kind = "d4pg";
    readonly D4pgConfig _config;
    readonly RunContext _run;
    readonly DdpgUpdate _update;
    readonly SharedReplay _replay;
    readonly SharedParameters _shared;
    readonly CentralReplay _central;
    readonly PeriodicEvaluation _evaluation;

    /// <summary>The learner of <paramref name="config"/>'s run (from <paramref name="run"/>'s checkpoint when resuming); it reports the run's telemetry.</summary>
    public D4pgActors(D4pgConfig config, RunContext run)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(run);
        (_config, _run) = (config, run);
        _update = new DdpgUpdate(config);
        var box = (BoxSpace)EnvRegistry.Spec(config.Env).ActionSpace;
        _replay = new SharedReplay(config, box.Size);
        if (run.Resumed is { } checkpoint)
        {
            RunState.Load(checkpoint, _update.ActorSpec, _update.Theta, _update.ActorOptimizer, Kind, r =>
            {
                foreach (float[] values in _update.OwnState) BinaryState.Read<float>(r, values, "d4pg's networks");
                if (r.ReadBoolean()) _replay.Load(r);
            });
            _update.ActorOptimizer.Steps = _update.CriticOptimizer.Steps = checkpoint.Updates;
        }
        Group = new WorkerGroup(Kind);
        // The learner steps theta itself; the shared parameters are for the supervisor's checkpoints and its end.
        _shared = new SharedParameters(_update.Theta, _update.ActorOptimizer, UpdateMode.Lock, 1, Group, run.Metrics);
        _evaluation = PeriodicEvaluation.For(config, config.Evaluation, _update.ActorSpec, _update.Theta, run, Group);
        _central = new CentralReplay(config, config.Distributed, run, _replay, _update.Theta);
        run.Metrics.Telemetry = this;
    }

    /// <summary>Trains <paramref name="config"/>'s run with its actor threads in this process.</summary>
    internal static RunSummary Train(D4pgConfig config, RunContext run)
    {
        var learner = new D4pgActors(config, run);
        learner.Train(group =>
        {
            for (int id = 0; id < config.Threads; id++)
                group.Start("actor", id, id =>
                {
                    var theta = new float[learner.ParameterCount];
                    long version = learner.Published.CopyIfNewer(theta, -1);
                    RunActor(config, learner.Spec, id, run.Segment, theta, version, new CentralSink(learner._central, learner._evaluation, run, group));
                });
        });
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    /// <summary>
    /// Acts as D4PG actor <paramref name="id"/> of part <paramref name="segment"/> of a run of <paramref name="config"/>
    /// (the actor network <paramref name="spec"/> at <paramref name="theta"/>, version <paramref name="version"/>, plus
    /// its noise) until <paramref name="sink"/> says stop; returns its env steps.
    /// </summary>
    public static long RunActor(D4pgConfig config, ModelSpec spec, int id, int segment, float[] theta, long version, ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(config);
        var policy = new NoisyDeterministic(config, spec, config.Lanes.NumEnvs, Acting.WorkerRng(config, id, segment));
        return ApexActor.Run(config, config.Distributed, id, segment, policy, theta, version, sink);
    }

    /// <inheritdoc/>
    public ReplayConfig Config => _config;

    /// <inheritdoc/>
    public DistributedSettings Distributed => _config.Distributed;

    /// <inheritdoc/>
    public ModelSpec Spec => _update.ActorSpec;

    /// <inheritdoc/>
    public ParameterBroadcast Published => _central.Published;

    /// <inheritdoc/>
    public int ParameterCount => _update.Theta.Length;

    /// <summary>The learner's thread and, in this process, the actors'.</summary>
    public WorkerGroup Group { get; }

    /// <inheritdoc/>
    public Task? TryInsert(TransitionBatch batch, bool force = false) => _central.TryInsert(batch, force);

    /// <inheritdoc/>
    public long Fetch(Span<float> theta, long held) => _central.Fetch(theta, held);

    /// <inheritdoc/>
    public RuntimeTelemetry Interval(double seconds) => _central.Interval(seconds);

    /// <inheritdoc/>
    public RuntimeTelemetry Total(double seconds) => _central.Total(seconds);

    /// <inheritdoc/>
    public void Train(Action<WorkerGroup> startActors)
    {
        ArgumentNullException.ThrowIfNull(startActors);
        startActors(Group);
        Group.Start("learner", 0, _ => Learn());
        Group.Supervise(_shared, _run, Save);
        if (_run.Checkpoints.Kept) _run.Checkpoints.Save(Save());
        if (!_run.Stop.Solved) _evaluation.RunNow();
    }

    CheckpointData Save() => RunState.Save(_update.ActorSpec, _update.Theta, _update.ActorOptimizer, Kind, w =>
    {
        foreach (float[] values in _update.OwnState) BinaryState.Write<float>(w, values);
        w.Write(_config.CheckpointReplay);
        if (_config.CheckpointReplay) _replay.Save(w);
    });

    /// <summary>The learner thread: batches from the central replay, DDPG's steps with the categorical critic, priorities back, the actor published.</summary>
    void Learn()
    {
        var sampling = new Rng((ulong)_config.Seed ^ AlgoConfig.SegmentSalt(_run.Segment), RandomStreams.ReplaySampling);
        Action<ReplayBuffer> gather = _update.Gather;
        long updates = _run.Metrics.Updates;
        while (!Group.StopRequested && !_run.ShouldStop)
        {
            long global = _run.Metrics.EnvSteps;
            if (!_central.TryDraw(sampling, global, _update.Slots, _update.Weights, gather)) continue;
            LossTerms losses = _update.Step(UpdateRules.LearningRate(_config, global), ++updates);
            _central.UpdatePriorities(_update.Slots, _update.Errors);
            _run.Metrics.AddUpdate(losses);
            _central.Published.Publish(_update.Theta, updates);
            _evaluation.MaybeRun(_run.Metrics.EnvSteps);
            if (updates % _config.TargetUpdateInterval == 0) _update.RefreshTargets(updates);
        }
    }
}

/// <summary>
/// A categorical distribution's support: <see cref="Atoms"/> values z_j = v_min + j dz evenly spaced on
/// [v_min, v_max]; turns a critic's logits into probabilities and means, and projects a shifted, scaled distribution
/// back onto the support (Bellemare et al. 2017, Algorithm 1).
/// </summary>
public sealed class CategoricalSupport
{
    readonly float[] _values;

    /// <summary>The support of <paramref name="atoms"/> atoms on [<paramref name="vMin"/>, <paramref name="vMax"/>].</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 2 atoms, or an empty or infinite interval.</exception>
    public CategoricalSupport(int atoms, float vMin, float vMax)
    {
        if (atoms < 2) throw new ArgumentOutOfRangeException(nameof(atoms), atoms, $"atoms was {atoms}; expected >= 2.");
        if (!(float.IsFinite(vMin) && float.IsFinite(vMax) && vMax > vMin))
            throw new ArgumentOutOfRangeException(nameof(vMax), vMax, $"the support was [{vMin}, {vMax}]; expected finite bounds with v_max above v_min.");
        (Atoms, VMin, VMax) = (atoms, vMin, vMax);
        Delta = (vMax - vMin) / (atoms - 1);
        _values = new float[atoms];
        for (int j = 0; j < atoms; j++) _values[j] = vMin + j * Delta;
    }

    public int Atoms { get; }
    public float VMin { get; }
    public float VMax { get; }

    /// <summary>The spacing dz of the atoms.</summary>
    public float Delta { get; }

    /// <summary>z_j, the atoms' values.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Each row's softmax of its <see cref="Atoms"/> logits into <paramref name="probabilities"/>.</summary>
    public void Softmax(ReadOnlySpan<float> logits, int rows, Span<float> probabilities)
    {
        int n = Atoms;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = logits.Slice(i * n, n);
            Span<float> p = probabilities.Slice(i * n, n);
            float max = float.NegativeInfinity;
            foreach (float x in row) max = MathF.Max(max, x);
            float sum = 0;
            for (int j = 0; j < n; j++) sum += p[j] = MathF.Exp(row[j] - max);
            for (int j = 0; j < n; j++) p[j] /= sum;
        }
    }

    /// <summary>
    /// The rows' means Q_i = sum_j p_ij z_j of the distributions the <paramref name="logits"/> give; returns their sum and
    /// writes <paramref name="scale"/> times each mean's gradient in the logits, p_ij (z_j - Q_i), into <paramref name="gradient"/>.
    /// </summary>
    public double MeanGradient(ReadOnlySpan<float> logits, int rows, float scale, Span<float> gradient)
    {
        int n = Atoms;
        Softmax(logits, rows, gradient);
        double total = 0;
        for (int i = 0; i < rows; i++)
        {
            Span<float> p = gradient.Slice(i * n, n);
            float mean = 0;
            for (int j = 0; j < n; j++) mean += p[j] * _values[j];
            for (int j = 0; j < n; j++) p[j] = scale * p[j] * (_values[j] - mean);
            total += mean;
        }
        return total;
    }

    /// <summary>
    /// For each row i, the distribution of R_i + discount_i Z where Z has the <paramref name="next"/> probabilities on the
    /// support, projected back onto the support: each atom's shifted value r = R + discount z_j, clamped to
    /// [v_min, v_max], gives its probability to the two atoms around it in proportion to their nearness (all of it to
    /// one atom when r falls on it). A discount of 0 (a terminal) puts everything around R.
    /// </summary>
    public void Project(ReadOnlySpan<float> next, ReadOnlySpan<float> rewards, ReadOnlySpan<float> discounts, int rows, Span<float> projected)
    {
        int n = Atoms;
        projected[..(rows * n)].Clear();
        for (int i = 0; i < rows; i++)
        {
            Span<float> m = projected.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                float r = Math.Clamp(rewards[i] + discounts[i] * _values[j], VMin, VMax);
                float b = (r - VMin) / Delta;
                int lower = Math.Clamp((int)MathF.Floor(b), 0, n - 1), upper = Math.Min(lower + 1, n - 1);
                float above = b - lower;
                float p = next[i * n + j];
                if (upper == lower || above <= 0f) m[lower] += p;
                else
                {
                    m[lower] += p * (1f - above);
                    m[upper] += p * above;
                }
            }
        }
    }
}

/// <summary>D4PG's critic gradient for a batch, apart from the loop so that it can be checked against hand computation.</summary>
public static class D4pgSteps
{
    /// <summary>
    /// The critic's loss, mean over the batch of w_i times the cross-entropy of its distribution at (s_i, a_i) to the
    /// target: the projection of R_i + discount_i Z'(s'_i, mu'(s'_i)). Returns it, writes each row's cross-entropy into
    /// <paramref name="errors"/> (the new priorities) and the loss's gradient in the critic's parameters into
    /// <paramref name="gradient"/> (cleared first). Scratch: <paramref name="inputs"/> [B * (obs + act)],
    /// <paramref name="actions"/> [B * act], <paramref name="projected"/> and <paramref name="logitGradient"/> [B * atoms].
    /// </summary>
    public static float CriticGradient(CategoricalSupport support, QNetwork actorTarget, ReadOnlySpan<float> actorTargetTheta, QNetwork criticTarget,
        ReadOnlySpan<float> criticTargetTheta, QNetwork critic, ReadOnlySpan<float> criticTheta, ReadOnlySpan<float> observations,
        ReadOnlySpan<float> batchActions, ReadOnlySpan<float> rewards, ReadOnlySpan<float> discounts, ReadOnlySpan<float> next, ReadOnlySpan<float> weights,
        int batch, Span<float> inputs, Span<float> actions, Span<float> projected, Span<float> logitGradient, Span<float> errors, Span<float> gradient)
    {
        int n = support.Atoms;
        ReadOnlySpan<float> nextLogits = DdpgSteps.AtPolicy(actorTarget, actorTargetTheta, criticTarget, criticTargetTheta, next, batch, inputs, actions);
        // The next distributions' probabilities, briefly in the gradient's scratch, then projected.
        support.Softmax(nextLogits, batch, logitGradient);
        support.Project(logitGradient, rewards, discounts, batch, projected);
        DdpgSteps.SideBySide(observations, batchActions, critic.ObservationSize, critic.Actions, batch, inputs);
        critic.Forward(criticTheta, inputs, batch);
        support.Softmax(critic.QValues(batch), batch, logitGradient);
        double loss = 0;
        float inverse = 1f / batch;
        for (int i = 0; i < batch; i++)
        {
            Span<float> p = logitGradient.Slice(i * n, n);
            ReadOnlySpan<float> m = projected.Slice(i * n, n);
            double entropy = 0;
            for (int j = 0; j < n; j++)
            {
                if (m[j] > 0f) entropy -= m[j] * Math.Log(Math.Max(p[j], 1e-30f));
                // d(cross-entropy)/dlogit_j = p_j - m_j (the target sums to 1).
                p[j] = weights[i] * (p[j] - m[j]) * inverse;
            }
            errors[i] = (float)entropy;
            loss += weights[i] * entropy;
        }
        gradient.Clear();
        critic.Backward(criticTheta, inputs, logitGradient, gradient, batch);
        return (float)(loss / batch);
    }
}
