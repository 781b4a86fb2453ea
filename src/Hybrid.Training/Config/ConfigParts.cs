namespace Hybrid.Training.Config;

/// <summary>
/// A group of settings that several algorithms share but not all: each is declared once, in its part, and a config
/// that uses it holds the part. The binder lists a part's settings as the config's own keys (<c>num_envs</c>, not
/// <c>lanes.num_envs</c>), so files and options do not see the parts.
/// </summary>
public abstract record ConfigPart
{
    /// <summary>Checks the part's settings; the message names the key and its value.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public abstract void Validate();
}

/// <summary>Env lanes stepped together (a2c, impala, hybrid, dqn).</summary>
public sealed record LaneSettings : ConfigPart
{
    /// <summary>Env lanes stepped together (N).</summary>
    [Description("Env lanes stepped together (N): a2c's lanes, each impala actor thread's, the hybrid regime's synchronous stream's, each dqn worker's.")]
    public int NumEnvs { get; init; } = 8;

    /// <inheritdoc/>
    public override void Validate() => AlgoConfig.Require(NumEnvs >= 1, "num_envs", NumEnvs, ">= 1");
}

/// <summary>How advantages are estimated from a segment's rewards (a2c, a3c, hybrid).</summary>
public sealed record ReturnSettings : ConfigPart
{
    /// <summary>GAE lambda; 1 gives n-step returns.</summary>
    [Description("GAE lambda; 1 gives the paper's n-step returns.")]
    public float GaeLambda { get; init; } = 1f;

    /// <inheritdoc/>
    public override void Validate() => AlgoConfig.Require(GaeLambda is >= 0 and <= 1, "gae_lambda", GaeLambda, "in [0, 1]");
}

/// <summary>How asynchronous workers apply their gradients to the shared parameters (a3c, q1, sarsa1, qn, hybrid, dqn).</summary>
public sealed record AsyncSettings : ConfigPart
{
    /// <summary>Hogwild, a lock, or a server thread.</summary>
    [Description("How workers apply gradients: hogwild (no lock, the paper's), lock (one mutex), server (one applier thread).")]
    public UpdateMode Update { get; init; } = UpdateMode.Hogwild;

    /// <summary>The server's applier thread, where there is one: a core the workers do not have.</summary>
    public int HelperThreads => Update == UpdateMode.Server ? 1 : 0;

    /// <inheritdoc/>
    public override void Validate() { }
}

/// <summary>Where an algorithm's device work runs (a2c, impala, ga3c, hybrid).</summary>
public sealed record DeviceSettings : ConfigPart
{
    /// <summary>Where the work runs; <see cref="Devices.DeviceChoice"/> decides what auto means.</summary>
    [Description("Where the device work runs: auto (cuda when an NVIDIA GPU is found, else cpu, saying so), cpu (Hybrid's SIMD kernels), cuda, or ilgpu-cpu (the device kernels on ILGPU's CPU accelerator, for testing them). a2c: its lanes, network and optimizer; impala: the learner's forward and backward passes; ga3c: the predictor's batched forward pass; hybrid: the synchronous stream. Actors, workers and optimizer steps of the others stay on the CPU.")]
    public Devices.DeviceKind Device { get; init; }

    /// <inheritdoc/>
    public override void Validate() { }
}

/// <summary>Greedy evaluation, the value-based methods' solve criterion (q1, sarsa1, qn, dqn).</summary>
public sealed record GreedyEvalSettings : ConfigPart
{
    /// <summary>Global steps between greedy evaluations.</summary>
    [Description("Global env steps between greedy evaluations (which decide 'solved').")]
    public long EvalInterval { get; init; } = 10_000;

    /// <summary>Greedy episodes per evaluation.</summary>
    [Description("Greedy episodes per evaluation, run in a separate env.")]
    public int EvalEpisodes { get; init; } = 100;

    /// <summary>Steps an evaluation episode may take before it is cut (counted as truncated, with its return so far).</summary>
    [Description("Steps a greedy evaluation episode may take before it is cut there, counted as truncated with its return so far.")]
    public int EvalMaxSteps { get; init; } = 10_000;

    /// <inheritdoc/>
    public override void Validate()
    {
        AlgoConfig.Require(EvalInterval >= 1, "eval_interval", EvalInterval, ">= 1");
        AlgoConfig.Require(EvalEpisodes >= 1, "eval_episodes", EvalEpisodes, ">= 1");
        AlgoConfig.Require(EvalMaxSteps >= 1, "eval_max_steps", EvalMaxSteps, ">= 1");
    }
}

/// <summary>
/// How a distributed replay method's actors feed the learner's central replay (Ape-X: Horgan et al. 2018): how often
/// they copy its parameters, how many transitions they send at once, and how far ahead of the learner they may get.
/// </summary>
public sealed record DistributedSettings : ConfigPart
{
    /// <summary>An actor's steps between copies of the learner's parameters.</summary>
    [Description("apex: an actor's env steps between copies of the learner's latest parameters (Horgan et al. 2018: 400).")]
    public int ActorRefreshSteps { get; init; } = 400;

    /// <summary>Transitions an actor gathers before sending them, with their priorities, to the replay.</summary>
    [Description("apex: transitions an actor gathers (with the priorities it computed from its n-step TD errors) before it adds them to the central replay.")]
    public int ActorSendBatch { get; init; } = 50;

    /// <summary>Transitions the learner replays per transition the actors add; the actors wait when they get ahead.</summary>
    [Description("apex: transitions the learner replays per transition the actors add; past learning_starts the actors wait while they are more than actor_send_batch transitions per actor ahead of it (a rate limiter: on a few cores the actors would otherwise outrun the learner many times over). DQN's defaults replay 8 (batch 32 every 4 steps).")]
    public float SamplesPerInsert { get; init; } = 8f;

    /// <inheritdoc/>
    public override void Validate()
    {
        AlgoConfig.Require(ActorRefreshSteps >= 1, "actor_refresh_steps", ActorRefreshSteps, ">= 1");
        AlgoConfig.Require(ActorSendBatch >= 1, "actor_send_batch", ActorSendBatch, ">= 1");
        AlgoConfig.Require(SamplesPerInsert > 0 && float.IsFinite(SamplesPerInsert), "samples_per_insert", SamplesPerInsert, "> 0");
    }
}

/// <summary>What memory an actor-critic carries between steps.</summary>
public enum RecurrentKind
{
    /// <summary>None: the policy sees only the current observation (a feed-forward network).</summary>
    None,
    /// <summary>An LSTM after the torso, its state carried from step to step and reset at episode ends.</summary>
    Lstm,
}

/// <summary>
/// An LSTM between the torso and the heads (a2c, a3c, impala), as Mnih et al. 2016 used for their best Atari and Labyrinth
/// agents: its state is carried from step to step within a lane's episode, zeroed where an episode ends, and learned
/// by backpropagation through each rollout of t_max steps (truncated there).
/// </summary>
public sealed record RecurrentSettings : ConfigPart
{
    /// <summary>none, or lstm.</summary>
    [Description("Memory between steps: none (a feed-forward network), or lstm (an LSTM after the torso, its state carried across a lane's steps, reset at episode ends, learned by backpropagation through each t_max-step rollout; a2c, a3c and impala, on the CPU; impala in one process).")]
    public RecurrentKind Recurrent { get; init; }

    /// <summary>The LSTM's units.</summary>
    [Description("Units of the LSTM (with recurrent lstm).")]
    public int LstmUnits { get; init; } = 64;

    /// <summary>The LSTM's units, or 0 without one (<see cref="Nn.Models.ModelSpec.Recurrent"/>).</summary>
    public int Units => Recurrent == RecurrentKind.Lstm ? LstmUnits : 0;

    /// <inheritdoc/>
    public override void Validate() => AlgoConfig.Require(LstmUnits >= 1, "lstm_units", LstmUnits, ">= 1");
}

/// <summary>A config whose actor-critic may carry an LSTM (a2c, a3c, impala).</summary>
public interface IRecurrentConfig
{
    /// <summary>The LSTM's settings.</summary>
    RecurrentSettings Memory { get; }
}
