namespace Hybrid.Nn;

/// <summary>
/// Every random stream a run draws from, by name: an <see cref="Rng"/> is (seed, stream), and each use below has a
/// stream of its own, so two uses never share numbers and a new one cannot collide unnoticed (docs/architecture.md,
/// "Random streams"). The numbers are the ones the code used before they had names: a run's results do not depend on
/// this table, only on its values, which must not change.
/// </summary>
public static class RandomStreams
{
    /// <summary>The network's initial parameters (each layer then splits its own stream by its index).</summary>
    public const ulong NetworkInit = 0;

    /// <summary>A2C's lane groups: one generator split by lane index, so a lane draws the same actions in any grouping.</summary>
    public const ulong LaneActions = 1;

    /// <summary>Worker or actor <c>id</c>'s actions: stream <c>WorkerActions + id</c> (A3C, the Q methods, IMPALA, GA3C, cluster actors).</summary>
    public const ulong WorkerActions = 1000;

    /// <summary>Worker <c>id</c>'s env reset seed: stream <c>WorkerEnv + id</c>.</summary>
    public const ulong WorkerEnv = 2000;

    /// <summary>The Q methods' draw of each worker's final epsilon (Mnih et al. 2016's 0.1 / 0.01 / 0.5).</summary>
    public const ulong FinalEpsilons = 3000;

    /// <summary>Greedy evaluation's env reset seeds.</summary>
    public const ulong GreedyEvaluation = 5000;

    /// <summary><c>eval</c>'s episode <c>i</c>: stream <c>PolicyEpisodes + i</c> of the eval seed.</summary>
    public const ulong PolicyEpisodes = 7000;

    /// <summary>The replay buffer's batch draws (DQN's learner).</summary>
    public const ulong ReplaySampling = 9000;

    /// <summary>A critic's initialization where it is a network of its own beside the actor (DDPG, D4PG).</summary>
    public const ulong CriticInit = 9500;

    /// <summary>Dyna-Q's world model's initial parameters.</summary>
    public const ulong WorldModelInit = 9600;

    /// <summary>The salt of a resumed run's part (segment), mixed into worker seeds so a resumed run does not replay its first part.</summary>
    public const ulong SegmentSalt = 0xC4EC;

    /// <summary><c>eval</c>'s default seed, drawn from the run's seed.</summary>
    public const ulong EvalSeed = 0xE7A1;

    /// <summary><c>render</c>'s actions.</summary>
    public const ulong RenderActions = 0x5EED;

    /// <summary>The bootstrap of a median or IQM (reports).</summary>
    public const ulong BootstrapAggregate = 77;

    /// <summary>The bootstrap of the probability of improvement (reports).</summary>
    public const ulong BootstrapImprovement = 78;

    /// <summary>The bootstrap of a statistic of several samples (ratios of medians, speedups).</summary>
    public const ulong BootstrapSamples = 79;

    /// <summary>The bootstrap of P(X sooner than Y) with censoring.</summary>
    public const ulong BootstrapSooner = 80;

    /// <summary>The bootstrap of a censored median.</summary>
    public const ulong BootstrapCensoredMedian = 81;

    /// <summary>Every stream above with its name, for the check that no two share a number and for the docs.</summary>
    public static IReadOnlyList<(string Name, ulong Stream)> All { get; } =
    [
        (nameof(NetworkInit), NetworkInit), (nameof(LaneActions), LaneActions), (nameof(WorkerActions), WorkerActions),
        (nameof(WorkerEnv), WorkerEnv), (nameof(FinalEpsilons), FinalEpsilons), (nameof(GreedyEvaluation), GreedyEvaluation),
        (nameof(PolicyEpisodes), PolicyEpisodes), (nameof(SegmentSalt), SegmentSalt), (nameof(EvalSeed), EvalSeed),
        (nameof(RenderActions), RenderActions), (nameof(BootstrapAggregate), BootstrapAggregate),
        (nameof(BootstrapImprovement), BootstrapImprovement), (nameof(BootstrapSamples), BootstrapSamples),
        (nameof(BootstrapSooner), BootstrapSooner), (nameof(BootstrapCensoredMedian), BootstrapCensoredMedian),
        (nameof(ReplaySampling), ReplaySampling),
    ];
}
