using Hybrid.Nn.Heads;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>What the algorithms share about turning network outputs into actions.</summary>
public static class Acting
{
    /// <summary>
    /// An actor-critic for the config's env: categorical head for discrete actions, diagonal Gaussian for a box;
    /// torso as <see cref="Torso"/>.
    /// </summary>
    public static ModelSpec ActorCriticSpec(AlgoConfig config) => Torso(config, out EnvSpec env) with
    {
        Kind = ModelKind.ActorCritic,
        SeparateValue = config is ActorCriticConfig { SeparateNetworks: true },
        Recurrent = config is IRecurrentConfig recurrent ? recurrent.Memory.Units : 0,
        ActionKind = env.IsDiscrete ? ActionKind.Discrete : ActionKind.Box,
        Actions = ActionCount(env),
    };

    /// <summary>A Q-network for the config's discrete-action env, torso as <see cref="Torso"/>.</summary>
    public static ModelSpec QSpec(AlgoConfig config) => Torso(config, out EnvSpec env) with
    {
        Kind = ModelKind.QNetwork,
        ActionKind = ActionKind.Discrete,
        Actions = ActionCount(env),
    };

    /// <summary>A deterministic policy for the config's box-action env (DDPG's and D4PG's actor): the torso's widths with ReLU, one output per box dimension.</summary>
    public static ModelSpec DeterministicSpec(AlgoConfig config) => Torso(config, out EnvSpec env) with
    {
        Kind = ModelKind.Deterministic,
        Activation = Activation.Relu,
        ActionKind = ActionKind.Box,
        Actions = ActionCount(env),
    };

    /// <summary>A critic on (observation, action) for the config's box-action env, the torso's widths with ReLU, with <paramref name="atoms"/> outputs (1: Q).</summary>
    public static ModelSpec CriticSpec(AlgoConfig config, int atoms) => Torso(config, out EnvSpec env) with
    {
        Kind = ModelKind.Critic,
        Activation = Activation.Relu,
        ActionKind = ActionKind.Box,
        Actions = ActionCount(env),
        Atoms = atoms,
    };

    /// <summary>The network a run's checkpoint holds as its policy: the deterministic actor (DDPG, D4PG), the Q-network (the other value-based methods) or the actor-critic.</summary>
    public static ModelSpec PolicySpec(AlgoConfig config) =>
        config is DdpgConfig ? DeterministicSpec(config) : config.ValueBased ? QSpec(config) : ActorCriticSpec(config);

    /// <summary>
    /// The torso for the observations of the config's env (<paramref name="env"/>): for MinAtar's channel-first
    /// C x 10 x 10 images, the MinAtar baselines' 16 filters 3x3 stride 1, ReLU, then the hidden layers with ReLU
    /// (Young and Tian 2019); for vectors an MLP with tanh. Hidden widths from <see cref="AlgoConfig.HiddenFor"/>.
    /// </summary>
    static ModelSpec Torso(AlgoConfig config, out EnvSpec env)
    {
        env = EnvRegistry.Spec(config.Env);
        int[] hidden = config.HiddenFor(env);
        if (!EnvRegistry.IsMinAtar(env.Id))
            return new ModelSpec { ObservationShape = [env.ObservationSize], Hidden = hidden, Activation = Activation.Tanh };
        return new ModelSpec
        {
            ObservationShape = [10, 10, env.ObservationSize / 100],
            ChannelsFirst = true,
            Conv = new ConvSpec(Filters: 16, Kernel: 3, Stride: 1, Padding: 0),
            Hidden = hidden,
            Activation = Activation.Relu,
        };
    }

    /// <summary>theta for <paramref name="net"/>, initialized from the run's seed (stream 0), as every algorithm starts.</summary>
    public static float[] InitialTheta(Network net, int seed)
    {
        var theta = new float[net.ParameterCount];
        net.Initialize(theta, new Rng((ulong)seed, RandomStreams.NetworkInit));
        return theta;
    }

    /// <summary>Discrete actions, or box dimensions.</summary>
    /// <summary>
    /// Worker or actor <paramref name="id"/>'s generator of actions (stream 1000 + id of the run's seed), salted by the
    /// part of the run (<see cref="RunContext.Segment"/>) so that a resumed asynchronous run does not replay the first part's draws.
    /// </summary>
    public static Rng WorkerRng(AlgoConfig config, int id, int segment) => new((ulong)config.Seed ^ AlgoConfig.SegmentSalt(segment), RandomStreams.WorkerActions + (ulong)id);

    public static int ActionCount(EnvSpec env) => env.ActionSpace is DiscreteSpace d ? d.N : env.ActionSpace.Size;

    /// <summary>
    /// One step of every lane of <paramref name="env"/> under the policy: stores s_t, draws a_t ~ pi(. | s_t; theta),
    /// records V(s_t) (and log pi(a_t | s_t) when <paramref name="recordLogProbabilities"/>), steps the env and stores
    /// its outcome. The env's finished episodes are left in its log for the caller to drain. <paramref name="rngs"/>
    /// holds one generator for every lane, or one per lane (so that a lane draws the same actions whichever thread or
    /// group steps it). With <paramref name="normalization"/>, the agent sees normalized observations and scaled
    /// rewards, and the rollout stores those. A recurrent policy steps from the rollout's carried state and leaves the
    /// state after the step there.
    /// </summary>
    public static void Step(ActorCriticNetwork net, ReadOnlySpan<float> theta, VectorEnv env, Rollout rollout, float gamma, ReadOnlySpan<Rng> rngs,
        bool recordLogProbabilities, NormalizationTally? normalization = null)
    {
        int n = env.NumEnvs;
        ReadOnlySpan<float> observations = normalization is null ? env.Observations : normalization.Observe(env.Observations);
        if (net.RecurrentSize != rollout.RecurrentSize)
            throw new ArgumentException($"rollout carries {rollout.RecurrentSize} LSTM units; the network has {net.RecurrentSize}.", nameof(rollout));
        if (net.RecurrentSize > 0)
        {
            if (rollout.Steps == 0) rollout.KeepInitialState();
            net.Step(theta, observations, rollout.Hidden, rollout.Cell, n);
        }
        else net.Forward(theta, observations, n);
        StepWith(observations, net.Policy(n), net.Values(n), net.Actions, env.Spec.IsDiscrete ? default : net.LogStd.Of(theta), env, rollout, gamma, rngs,
            recordLogProbabilities, normalization);
    }

    /// <summary>
    /// The rest of <see cref="Step"/> once the policy head's outputs and the values for <paramref name="observations"/>
    /// are known (from this thread's forward pass, or a predictor's): samples the actions, steps the env and records the step.
    /// </summary>
    public static void StepWith(ReadOnlySpan<float> observations, ReadOnlySpan<float> policy, ReadOnlySpan<float> values, int actionCount,
        ReadOnlySpan<float> logStd, VectorEnv env, Rollout rollout, float gamma, ReadOnlySpan<Rng> rngs, bool recordLogProbabilities,
        NormalizationTally? normalization = null)
    {
        int n = env.NumEnvs;
        int t = rollout.BeginStep(observations);
        int truncatedBefore = rollout.TruncatedCount;
        values.CopyTo(rollout.Values.AsSpan(t * n, n));
        Span<float> logProbabilities = recordLogProbabilities ? rollout.LogProbabilities.AsSpan(t * n, n) : default;
        if (env.Spec.IsDiscrete)
        {
            Span<int> actions = rollout.DiscreteActionsAt(t);
            SampleDiscrete(policy, actionCount, rngs, actions, logProbabilities);
            env.Step(actions);
        }
        else
        {
            Span<float> actions = rollout.BoxActionsAt(t);
            SampleGaussian(policy, logStd, rngs, actions, logProbabilities);
            env.Step(actions);
        }
        rollout.EndStep(t, env, gamma);
        normalization?.AfterStep(rollout, t, env, truncatedBefore);
    }

    /// <summary>The env's observations as the agent sees them: normalized (without tallying them) or as they are.</summary>
    public static ReadOnlySpan<float> Seen(VectorEnv env, NormalizationTally? normalization) =>
        normalization is null ? env.Observations : normalization.Peek(env.Observations);

    /// <summary>Draws one action per row from categorical logits [batch * actions] with row b's generator (or the one
    /// generator); writes log pi(a) when <paramref name="logProbabilities"/> is not empty.</summary>
    public static void SampleDiscrete(ReadOnlySpan<float> logits, int actions, ReadOnlySpan<Rng> rngs, Span<int> destination, Span<float> logProbabilities)
    {
        for (int b = 0; b < destination.Length; b++)
        {
            ReadOnlySpan<float> row = logits.Slice(b * actions, actions);
            int a = Categorical.Sample(row, rngs.Length == 1 ? rngs[0] : rngs[b]);
            destination[b] = a;
            if (!logProbabilities.IsEmpty) logProbabilities[b] = Categorical.LogProbability(row, a);
        }
    }

    /// <summary>
    /// Draws one action per row from N(mean, exp(logStd)^2) [batch * dims], with row b's generator (or the one
    /// generator); writes log pi(a) when asked. The draws are
    /// not clipped: the env clips what it executes, and the loss needs the action that was drawn.
    /// </summary>
    public static void SampleGaussian(ReadOnlySpan<float> means, ReadOnlySpan<float> logStd, ReadOnlySpan<Rng> rngs, Span<float> destination, Span<float> logProbabilities)
    {
        int dims = logStd.Length;
        for (int b = 0; b * dims < destination.Length; b++)
        {
            ReadOnlySpan<float> mean = means.Slice(b * dims, dims);
            Span<float> action = destination.Slice(b * dims, dims);
            DiagonalGaussian.Sample(mean, logStd, rngs.Length == 1 ? rngs[0] : rngs[b], action);
            if (!logProbabilities.IsEmpty) logProbabilities[b] = DiagonalGaussian.LogProbability(mean, logStd, action);
        }
    }
}
