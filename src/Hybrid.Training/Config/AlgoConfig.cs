using Hybrid.Envs.MinAtar;
using Hybrid.Envs.Simd;

namespace Hybrid.Training.Config;

/// <summary>How asynchronous workers apply their gradients to the shared parameters (docs/architecture.md, "Shared parameters").</summary>
public enum UpdateMode
{
    /// <summary>No lock: threads apply concurrently, as in Mnih et al. 2016 (Hogwild, Recht et al. 2011).</summary>
    Hogwild,
    /// <summary>One mutex around each apply.</summary>
    Lock,
    /// <summary>Threads enqueue gradients in preallocated slots; one applier thread applies them in order.</summary>
    Server,
}

/// <summary>
/// Settings every algorithm shares. Each algorithm's record derives from this one and sets its own defaults;
/// keys in config files are the snake_case property names (<c>learning_rate</c>), options the kebab-case ones
/// (<c>--learning-rate</c>). Records are immutable: override with <c>with</c> or through <see cref="ConfigBinder"/>.
/// </summary>
public abstract record AlgoConfig
{
    /// <summary>The algorithm's name on the command line (a2c, a3c, q1, sarsa1, qn, dqn, impala, ga3c, hybrid).</summary>
    public abstract string Algo { get; }

    /// <summary>Environment id.</summary>
    [Description("Environment id: CartPole-v1, CartPoleNoVel-v1 (CartPole without the velocities: partially observed), Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1, MinAtar/<Game>-v0 or -v1 (Asterix, Breakout, Freeway, Seaquest, SpaceInvaders).")]
    public string Env { get; init; } = "CartPole-v1";

    /// <summary>Seed of everything random: initial parameters, action draws, env lanes.</summary>
    [Description("Seed of everything random: initial parameters, action draws, env lanes.")]
    public int Seed { get; init; } = 1;

    /// <summary>Budget in env steps, summed over lanes and threads.</summary>
    [Description("Budget in env steps, summed over all lanes and threads.")]
    public long MaxEnvSteps { get; init; } = 500_000;

    /// <summary>Stop as soon as the solve criterion is met.</summary>
    [Description("Stop as soon as the mean of the last 100 episodes reaches solve_threshold.")]
    public bool StopWhenSolved { get; init; }

    /// <summary>Wall-clock budget in seconds; 0 means none.</summary>
    [Description("Wall-clock budget in seconds (the run stops at whichever budget runs out first); 0 = none.")]
    public double MaxWallSeconds { get; init; }

    /// <summary>The solve threshold; NaN (written auto) means the env's.</summary>
    [Description("Mean-of-100 return that counts as solved; auto = the env's threshold (none for MinAtar).")]
    public double SolveThreshold { get; init; } = double.NaN;

    /// <summary>Threads the algorithm uses (its meaning is the algorithm's: cores, actors or workers).</summary>
    [Description("Threads: lane groups for a2c (each thread steps its lanes and computes their gradient; the gradients are summed); worker threads for a3c, q1, sarsa1, qn, dqn; actor threads for impala, apex, d4pg; 1 for dyna-q (planning_threads sets its others).")]
    public int Threads { get; init; } = 1;

    /// <summary>Steps per lane between updates: t_max of Mnih et al. 2016, IMPALA's unroll length T.</summary>
    [Description("Steps per lane between updates, t_max (a3c and qn: fewer when an episode ends; q1 and sarsa1 apply every async_update_interval steps instead); impala: the unroll length T; hybrid: the synchronous stream's (its workers use worker_t_max).")]
    public int TMax { get; init; } = 5;

    /// <summary>Hidden layer widths; empty means auto (see <see cref="HiddenFor"/>).</summary>
    [Description("Fully connected layer widths, comma-separated; auto = 64,64 with tanh for vector observations, 128 with ReLU after a 16-filter 3x3 convolution for MinAtar images (the MinAtar baselines' network).")]
    public int[] Hidden { get; init; } = [];

    /// <summary>MinAtar's sticky-action probability.</summary>
    [Description("MinAtar only: chance that a step repeats the previously executed action (the reference package's sticky actions).")]
    public double StickyActionProb { get; init; } = MinAtarOptions.Default.StickyActionProbability;

    /// <summary>MinAtar's difficulty ramping.</summary>
    [Description("MinAtar only: Asterix, Seaquest and Space Invaders speed up as the game goes on, as in the reference package.")]
    public bool DifficultyRamping { get; init; } = MinAtarOptions.Default.DifficultyRamping;

    /// <summary>Discount gamma.</summary>
    [Description("Discount factor gamma.")]
    public float Gamma { get; init; } = 0.99f;

    /// <summary>Initial learning rate.</summary>
    [Description("Learning rate (RMSProp).")]
    public float LearningRate { get; init; } = 7e-4f;

    /// <summary>Anneal the learning rate linearly to 0, as Mnih et al. 2016 do, over <see cref="AnnealHorizon"/> env steps.</summary>
    [Description("Anneal the learning rate linearly to 0 over anneal_steps.")]
    public bool AnnealLearningRate { get; init; }

    /// <summary>The annealing horizon in env steps; 0 means auto (see <see cref="AnnealHorizon"/>).</summary>
    [Description("Env steps over which an annealed learning rate reaches 0 (after that it stays 0); 0 = auto: max_env_steps, or 1000000 with stop_when_solved, so that a run that stops when solved follows the same schedule whatever its budget.")]
    public long AnnealSteps { get; init; }

    /// <summary>
    /// The horizon of the learning-rate schedule: <see cref="AnnealSteps"/> when set; else the budget, unless the run
    /// stops when solved: then <see cref="DefaultAnnealSteps"/>, so that raising a comparison's budget cap does not
    /// slow every arm's schedule (and change its time to the threshold).
    /// </summary>
    public long AnnealHorizon => AnnealSteps > 0 ? AnnealSteps : StopWhenSolved ? DefaultAnnealSteps : MaxEnvSteps;

    /// <summary>The fixed horizon of <see cref="AnnealHorizon"/> for runs that stop when solved: A3C's default budget.</summary>
    public const long DefaultAnnealSteps = 1_000_000;

    /// <summary>The solve threshold in force: <see cref="SolveThreshold"/>, or the env's where it is auto.</summary>
    public double Threshold => double.IsNaN(SolveThreshold) ? EnvRegistry.Spec(Env).SolveThreshold : SolveThreshold;

    /// <summary>RMSProp decay alpha.</summary>
    [Description("RMSProp decay alpha (Mnih et al. 2016: 0.99).")]
    public float RmsAlpha { get; init; } = 0.99f;

    /// <summary>RMSProp epsilon.</summary>
    [Description("RMSProp epsilon, added inside the square root (see rms_epsilon_outside).")]
    public float RmsEpsilon { get; init; } = 1e-5f;

    /// <summary>Add RMSProp's epsilon outside the square root, lr d / (sqrt(g) + eps), as PyTorch's RMSprop (which SB3 uses) does.</summary>
    [Description("Add RMSProp's epsilon outside the square root, lr d / (sqrt(g) + eps), as PyTorch's RMSprop (so SB3) does, instead of inside as Mnih et al. 2016 write it (CPU path).")]
    public bool RmsEpsilonOutside { get; init; }

    /// <summary>Global gradient-norm clip; 0 turns it off.</summary>
    [Description("Clip the gradient's global L2 norm to this; 0 = no clipping.")]
    public float MaxGradNorm { get; init; } = 0.5f;

    /// <summary>Env steps between metrics rows.</summary>
    [Description("Env steps between rows of metrics.csv.")]
    public long LogInterval { get; init; } = 10_000;

    /// <summary>Env steps between checkpoints; 0 means by time only.</summary>
    [Description("Env steps between checkpoints (checkpoint.bin in the run folder, for --resume and eval); 0 = by time only. A checkpoint is also written at the end and when the run is stopped.")]
    public long CheckpointInterval { get; init; }

    /// <summary>Seconds between checkpoints; 0 means by steps only.</summary>
    [Description("Wall-clock seconds between checkpoints; 0 = by env steps only.")]
    public double CheckpointSeconds { get; init; } = 60;

    /// <summary>The settings a resumed run may change: its budget and how often it keeps checkpoints.</summary>
    public static IReadOnlyList<string> ResumableKeys { get; } = ["max_env_steps", "max_wall_seconds", "checkpoint_interval", "checkpoint_seconds"];

    /// <summary>True for algorithms whose actions must be discrete.</summary>
    public virtual bool DiscreteOnly => false;

    /// <summary>Whether the method learns a Q-network (the value-based methods) rather than an actor-critic.</summary>
    public virtual bool ValueBased => false;

    /// <summary>"train-last-100" for actor-critic methods, "greedy-eval-100" for value-based ones (docs/architecture.md, "Solved").</summary>
    public string SolveCriterion => ValueBased ? "greedy-eval-100" : "train-last-100";

    /// <summary>
    /// Threads the method keeps busy besides its <see cref="Threads"/> (the server update mode's applier, IMPALA's
    /// learner): they need cores too, which a scaling measurement has to count.
    /// </summary>
    public virtual int HelperThreads => 0;

    /// <summary>Lanes stepped in total (A2C's lanes, or one per async worker).</summary>
    public abstract int TotalEnvs { get; }

    /// <summary>Env lanes the run keeps (as a long: a product of settings may not fit an int).</summary>
    private protected virtual long LanesHeld => TotalEnvs;

    /// <summary>Samples the run holds at once, in rollouts, unrolls and batches (for the memory estimate).</summary>
    private protected abstract long SamplesHeld { get; }

    /// <summary>Bytes the run keeps besides parameters, samples and lanes (a replay buffer).</summary>
    private protected virtual double ExtraBytes => 0;

    /// <summary>Copies of the parameters the run keeps: theta, the gradient and the optimizer's statistics, plus each thread's own.</summary>
    private protected virtual long ParameterCopies => 3 + 2L * Threads;

    /// <summary>
    /// About how many bytes the run will allocate: the parameter copies, every sample held (observation, the hidden
    /// layers' activations and gradients, the heads' outputs) and the env lanes. Counted in doubles, so that settings
    /// too large for the arrays give a figure instead of an overflow.
    /// </summary>
    public double EstimatedBytes(out double parameters)
    {
        EnvSpec env = EnvRegistry.Spec(Env);
        int[] hidden = HiddenFor(env);
        double width = env.ObservationSize, hiddenSum = 0;
        parameters = 0;
        if (EnvRegistry.IsMinAtar(Env))
        {
            // The 16-filter 3x3 convolution over C x 10 x 10: 16 x 8 x 8 features.
            parameters += 16.0 * (9 * (env.ObservationSize / 100)) + 16;
            width = 16 * 8 * 8;
            hiddenSum += width;
        }
        foreach (int h in hidden)
        {
            parameters += width * h + h;
            width = h;
            hiddenSum += h;
        }
        double outputs = env.ActionSpace is DiscreteSpace d ? d.N : env.ActionSpace.Size;
        parameters += width * (outputs + 1) + outputs + 1 + outputs;
        double perSample = 3.0 * env.ObservationSize + 3 * hiddenSum + 3 * outputs + 16;
        return 4 * (parameters * ParameterCopies + (double)SamplesHeld * perSample + LanesHeld * (4.0 * env.ObservationSize + 16)) + ExtraBytes;
    }

    /// <summary>Checks every field and the rules between them; the message names the field and its value.</summary>
    /// <exception cref="ArgumentException">A field is out of range, or the env is unknown or has the wrong action space.</exception>
    public virtual void Validate()
    {
        EnvSpec spec = EnvRegistry.Spec(Env); // its message names the unknown env and lists the known ones
        if (DiscreteOnly && !spec.IsDiscrete)
            throw new ArgumentException($"env '{Env}' has a continuous (box) action space; {Algo} needs discrete actions.", nameof(Env));
        Require(MaxEnvSteps >= 1, "max_env_steps", MaxEnvSteps, ">= 1");
        Require(Threads >= 1, "threads", Threads, ">= 1");
        Require(TMax >= 1, "t_max", TMax, ">= 1");
        Require(Threads <= 256, "threads", Threads, "<= 256");
        Require(Array.TrueForAll(Hidden, h => h >= 1), "hidden", ConfigBinder.Format(Hidden), "auto or widths >= 1");
        Require(StickyActionProb is >= 0 and <= 1, "sticky_action_prob", StickyActionProb, "in [0, 1]");
        bool minAtar = EnvRegistry.IsMinAtar(Env);
        if (!minAtar && StickyActionProb != MinAtarOptions.Default.StickyActionProbability)
            throw new ArgumentException($"sticky_action_prob was {ConfigBinder.Format(StickyActionProb)}; it applies to MinAtar envs only, and env is '{Env}'.", "sticky_action_prob");
        if (!minAtar && !DifficultyRamping)
            throw new ArgumentException($"difficulty_ramping was false; it applies to MinAtar envs only, and env is '{Env}'.", "difficulty_ramping");
        Require(Gamma is >= 0 and <= 1, "gamma", Gamma, "in [0, 1]");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), "learning_rate", LearningRate, "> 0");
        Require(RmsAlpha is >= 0 and < 1, "rms_alpha", RmsAlpha, "in [0, 1)");
        Require(RmsEpsilon > 0, "rms_epsilon", RmsEpsilon, "> 0");
        Require(MaxGradNorm >= 0 && float.IsFinite(MaxGradNorm), "max_grad_norm", MaxGradNorm, ">= 0 (0 = off)");
        Require(LogInterval >= 1, "log_interval", LogInterval, ">= 1");
        Require(MaxWallSeconds >= 0 && double.IsFinite(MaxWallSeconds), "max_wall_seconds", MaxWallSeconds, ">= 0 (0 = none)");
        Require(double.IsNaN(SolveThreshold) || double.IsFinite(SolveThreshold), "solve_threshold", SolveThreshold, "auto or a finite number");
        Require(AnnealSteps >= 0, "anneal_steps", AnnealSteps, ">= 0 (0 = auto)");
        Require(CheckpointInterval >= 0, "checkpoint_interval", CheckpointInterval, ">= 0 (0 = by time only)");
        Require(CheckpointSeconds >= 0 && double.IsFinite(CheckpointSeconds), "checkpoint_seconds", CheckpointSeconds, ">= 0 (0 = by steps only)");
        if (StopWhenSolved && !double.IsFinite(Threshold))
            throw new ArgumentException($"stop_when_solved was true, but {Env} has no solve threshold; give one with solve_threshold (--solve-threshold).", "stop_when_solved");
    }

    /// <summary>
    /// Refuses a run whose arrays would not fit: more than the machine's memory (with a fifth to spare), or a network or
    /// batch too large to index. The message gives the figure and what to shrink.
    /// </summary>
    /// <exception cref="ArgumentException">The run would not fit.</exception>
    protected void CheckSize()
    {
        double bytes = EstimatedBytes(out double parameters), available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        const double GiB = 1024.0 * 1024 * 1024;
        string what = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"a network of {parameters:N0} parameters, {(double)SamplesHeld:N0} samples held at once, {(double)LanesHeld:N0} env lanes{(ExtraBytes > 0 ? $", a replay buffer of {ExtraBytes / GiB:F1} GiB" : "")}");
        if (parameters > int.MaxValue / 4)
            throw new ArgumentException($"hidden was {ConfigBinder.Format(Hidden)}: {what}; the parameters must number under {int.MaxValue / 4:N0}. Use smaller hidden layers.", "hidden");
        if (bytes > 0.8 * available)
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"this run would need about {bytes / GiB:F1} GiB ({what}), more than the {available / GiB:F1} GiB this machine has; use fewer lanes (num_envs), a shorter t_max, smaller hidden layers{(ExtraBytes > 0 ? " or a smaller buffer_size" : "")}."), "memory");
    }

    /// <summary>The hidden widths for <paramref name="env"/>: <see cref="Hidden"/>, or its auto value (64,64 for vectors, 128 for MinAtar).</summary>
    public int[] HiddenFor(EnvSpec env) => Hidden.Length > 0 ? Hidden : EnvRegistry.IsMinAtar(env.Id) ? [128] : [64, 64];

    /// <summary>A new env of <paramref name="numEnvs"/> lanes of <see cref="Env"/>, with the MinAtar settings where they apply.</summary>
    public VectorEnv MakeEnv(int numEnvs) => EnvRegistry.Make(Env, numEnvs, LaneWidth.Auto, MinAtarSettings);

    /// <summary>The MinAtar wrapper's settings (sticky actions, ramping) for a MinAtar env, else null.</summary>
    public MinAtarOptions? MinAtarSettings => EnvRegistry.IsMinAtar(Env) ? new MinAtarOptions(StickyActionProb, DifficultyRamping) : null;

    /// <summary>The seed of worker or actor <paramref name="worker"/>'s env: distinct per worker, fixed by the run's seed.</summary>
    public ulong WorkerEnvSeed(int worker) => WorkerEnvSeed(worker, 0);

    /// <summary>
    /// The seed of worker <paramref name="worker"/>'s env in part <paramref name="segment"/> of a run (0 until it is
    /// first resumed, then one more at each resume): a resumed asynchronous run starts its workers' episodes afresh
    /// rather than replaying the first part's.
    /// </summary>
    public ulong WorkerEnvSeed(int worker, int segment) => new Rng((ulong)Seed ^ SegmentSalt(segment), RandomStreams.WorkerEnv + (ulong)worker).NextUInt64();

    /// <summary>What a segment mixes into the seed of a worker's generators: 0 for the first, so a run that is never resumed draws as before.</summary>
    public static ulong SegmentSalt(int segment) => segment == 0 ? 0 : new Rng((ulong)segment, RandomStreams.SegmentSalt).NextUInt64();

    /// <summary>Throws <see cref="ArgumentException"/> "KEY was VALUE; expected EXPECTED." unless <paramref name="ok"/>.</summary>
    protected internal static void Require(bool ok, string key, object value, string expected)
    {
        if (!ok) throw new ArgumentException($"{key} was {ConfigBinder.Format(value)}; expected {expected}.", key);
    }
}
