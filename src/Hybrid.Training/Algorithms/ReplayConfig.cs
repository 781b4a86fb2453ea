using Hybrid.Training.Replay;

namespace Hybrid.Training.Algorithms;

/// <summary>How a replay method draws its batches from the replay buffer.</summary>
public enum ReplayKind
{
    /// <summary>Uniformly, with replacement.</summary>
    Uniform,
    /// <summary>Proportionally to |TD error|^alpha, with importance weights (Schaul et al. 2016).</summary>
    Prioritized,
}

/// <summary>
/// The settings every method that learns from a replay buffer shares (DQN, Ape-X, DDPG, D4PG): the lanes that act, the
/// buffer and how batches are drawn from it, when and how often the learner steps, the target network's refresh,
/// n-step returns, prioritized replay, and greedy evaluation (their solve criterion: the policy without its
/// exploration).
/// </summary>
public abstract record ReplayConfig : AlgoConfig
{
    /// <summary>The env lanes acting together.</summary>
    public LaneSettings Lanes { get; init; } = new() { NumEnvs = 1 };

    /// <summary>Greedy evaluation (the solve criterion).</summary>
    public GreedyEvalSettings Evaluation { get; init; } = new();

    /// <summary>Transitions the replay buffer holds (the oldest go first).</summary>
    [Description("Transitions the replay buffer holds; once full, each new one replaces the oldest.")]
    public int BufferSize { get; init; } = 100_000;

    /// <summary>Env steps before the first gradient step.</summary>
    [Description("Env steps (all lanes) collected before the first gradient step.")]
    public long LearningStarts { get; init; } = 1_000;

    /// <summary>Transitions per gradient step.</summary>
    [Description("Transitions sampled from the replay buffer per gradient step.")]
    public int BatchSize { get; init; } = 32;

    /// <summary>Vector env steps between rounds of gradient steps.</summary>
    [Description("Vector env steps (one step of every lane) between rounds of gradient steps.")]
    public int TrainFrequency { get; init; } = 4;

    /// <summary>Gradient steps per round.</summary>
    [Description("Gradient steps per round (every train_frequency vector steps).")]
    public int GradientSteps { get; init; } = 1;

    /// <summary>Env steps between refreshes of the target network.</summary>
    [Description("Env steps (all lanes) between refreshes of the target network(s): a copy of theta, or with tau below 1 a Polyak step theta- += tau (theta - theta-).")]
    public long TargetUpdateInterval { get; init; } = 1_000;

    /// <summary>Polyak coefficient of a target refresh; 1 copies theta.</summary>
    [Description("Polyak coefficient of each target refresh; 1 = a hard copy (Mnih et al. 2015).")]
    public float Tau { get; init; } = 1f;

    /// <summary>Steps per return.</summary>
    [Description("Steps of reward each transition carries before it bootstraps (n-step returns); 1 = Mnih et al. 2015.")]
    public int NStep { get; init; } = 1;

    /// <summary>How the learner draws its batches.</summary>
    [Description("How batches are drawn: uniform, or prioritized (proportional to |TD error|^alpha, Schaul et al. 2016, with importance weights).")]
    public ReplayKind Replay { get; init; } = ReplayKind.Uniform;

    /// <summary>Prioritized replay's alpha.</summary>
    [Description("Prioritized replay: how much the priorities count, P(i) ~ p_i^alpha (Schaul et al. 2016's proportional variant: 0.6).")]
    public float PrioritizedAlpha { get; init; } = 0.6f;

    /// <summary>Prioritized replay's beta at the start; it rises linearly to 1 over the horizon.</summary>
    [Description("Prioritized replay: the importance weights' exponent at the start, raised linearly to 1 over the horizon (max_env_steps, or anneal_steps when set; Schaul et al. 2016: 0.4).")]
    public float PrioritizedBeta { get; init; } = 0.4f;

    /// <summary>Added to |TD error| so no priority is 0.</summary>
    [Description("Prioritized replay: added to each |TD error| so that no transition's priority is 0.")]
    public float PrioritizedEps { get; init; } = 1e-6f;

    /// <summary>Whether checkpoints hold the replay buffer (a resume then continues with it).</summary>
    [Description("Keep the replay buffer in checkpoints, so a resumed run continues with it (it can be large: buffer_size x two observations).")]
    public bool CheckpointReplay { get; init; } = true;

    /// <inheritdoc/>
    public override bool ValueBased => true;

    /// <inheritdoc/>
    public override int TotalEnvs => Lanes.NumEnvs;

    /// <summary>Floats per action the buffer stores: a box action's size, 0 for a discrete action's index.</summary>
    protected int BoxActionSize => EnvRegistry.Spec(Env) is { IsDiscrete: false } env ? env.ActionSpace.Size : 0;

    /// <inheritdoc/>
    private protected override long SamplesHeld => BatchSize;

    /// <inheritdoc/>
    private protected override long ParameterCopies => 6;

    /// <inheritdoc/>
    private protected override double ExtraBytes => ReplayBuffer.BytesFor(BufferSize, EnvRegistry.Spec(Env).ObservationSize, BoxActionSize);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Lanes.Validate();
        Evaluation.Validate();
        Require(BufferSize >= 1, "buffer_size", BufferSize, ">= 1");
        Require(LearningStarts >= 0, "learning_starts", LearningStarts, ">= 0");
        Require(BatchSize >= 1, "batch_size", BatchSize, ">= 1");
        Require(TrainFrequency >= 1, "train_frequency", TrainFrequency, ">= 1");
        Require(GradientSteps >= 1, "gradient_steps", GradientSteps, ">= 1");
        Require(TargetUpdateInterval >= 1, "target_update_interval", TargetUpdateInterval, ">= 1");
        Require(Tau is > 0 and <= 1, "tau", Tau, "in (0, 1]");
        Require(NStep >= 1, "n_step", NStep, ">= 1");
        Require(PrioritizedAlpha >= 0 && float.IsFinite(PrioritizedAlpha), "prioritized_alpha", PrioritizedAlpha, ">= 0");
        Require(PrioritizedBeta is >= 0 and <= 1, "prioritized_beta", PrioritizedBeta, "in [0, 1]");
        Require(PrioritizedEps > 0 && float.IsFinite(PrioritizedEps), "prioritized_eps", PrioritizedEps, "> 0");
        CheckSize();
    }

    /// <summary>Prioritized replay's beta after <paramref name="envSteps"/> env steps: linear from its start to 1 over the horizon.</summary>
    public double Beta(long envSteps) => PrioritizedBeta + (1.0 - PrioritizedBeta) * Math.Min(1.0, envSteps / (double)AnnealHorizon);
}
