using Hybrid.Envs;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Rollouts;

namespace Hybrid.Cluster;

/// <summary>An actor process asking to join: who it is and what it was built to run, so a learner can refuse a mismatch.</summary>
[GenerateSerializer]
public sealed class JoinRequest
{
    /// <summary>The actor's name (host, process id, thread).</summary>
    [Id(0)] public string Actor { get; set; } = "";
    /// <summary>Hybrid's version of the actor's build.</summary>
    [Id(1)] public string Version { get; set; } = "";
    /// <summary>The actor's process (host:pid): the learner counts env steps per process.</summary>
    [Id(2)] public string Process { get; set; } = "";
}

/// <summary>The learner's answer: the run's config and parameters, or why the actor is refused.</summary>
[GenerateSerializer]
public sealed class JoinReply
{
    /// <summary>Whether the actor may act.</summary>
    [Id(0)] public bool Accepted { get; set; }
    /// <summary>Why not, when refused.</summary>
    [Id(1)] public string Message { get; set; } = "";
    /// <summary>The actor's number in the run (it seeds the actor's env and action streams).</summary>
    [Id(2)] public int ActorId { get; set; }
    /// <summary>The run's resolved config (YAML).</summary>
    [Id(3)] public string Config { get; set; } = "";
    /// <summary>The model spec the learner trains, as text.</summary>
    [Id(4)] public string Model { get; set; } = "";
    /// <summary>theta now.</summary>
    [Id(5)] public float[] Theta { get; set; } = [];
    /// <summary>theta's version (learner updates).</summary>
    [Id(6)] public long ParameterVersion { get; set; }
    /// <summary>The run's part (0, then one more per resume): salts the actor's env and action streams so a resumed run does not replay the first part's.</summary>
    [Id(7)] public int Segment { get; set; }
}

/// <summary>One unroll of an actor's lanes: what the learner's rollout holds, and the episodes that ended in it.</summary>
[GenerateSerializer]
public sealed class UnrollMessage
{
    [Id(0)] public int ActorId { get; set; }
    /// <summary>The parameter version that acted.</summary>
    [Id(1)] public long ParameterVersion { get; set; }
    [Id(2)] public int Steps { get; set; }
    [Id(3)] public float[] Observations { get; set; } = [];
    [Id(4)] public int[] DiscreteActions { get; set; } = [];
    [Id(5)] public float[] BoxActions { get; set; } = [];
    [Id(6)] public float[] LogProbabilities { get; set; } = [];
    [Id(7)] public float[] Rewards { get; set; } = [];
    [Id(8)] public float[] Discounts { get; set; } = [];
    [Id(9)] public bool[] Truncated { get; set; } = [];
    [Id(10)] public int[] TruncatedIndices { get; set; } = [];
    [Id(11)] public float[] FinalObservations { get; set; } = [];
    /// <summary>The observations after the last step (the bootstrap states).</summary>
    [Id(12)] public float[] NextObservations { get; set; } = [];
    [Id(13)] public float[] EpisodeReturns { get; set; } = [];
    [Id(14)] public int[] EpisodeLengths { get; set; } = [];
    [Id(15)] public bool[] EpisodeTerminated { get; set; } = [];
    /// <summary>When the actor finished the unroll (UTC ticks), for the act-to-learn latency.</summary>
    [Id(16)] public long SentTicks { get; set; }

    /// <summary>
    /// The wire form of <paramref name="unroll"/> (the one trajectory type, <see cref="Unroll"/>) from actor
    /// <paramref name="actorId"/>, with the <paramref name="episodes"/> that ended in it, stamped now.
    /// </summary>
    public static UnrollMessage Of(int actorId, Unroll unroll, IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(unroll);
        ArgumentNullException.ThrowIfNull(episodes);
        Rollout r = unroll.Rollout;
        int samples = r.Count, obs = r.ObservationSize;
        return new UnrollMessage
        {
            ActorId = actorId, ParameterVersion = unroll.Version, Steps = r.Steps,
            Observations = r.Observations[..(samples * obs)], DiscreteActions = r.Discrete ? r.DiscreteActions[..samples] : [],
            BoxActions = r.Discrete ? [] : r.BoxActions[..(samples * r.ActionSize)], LogProbabilities = r.LogProbabilities[..samples],
            Rewards = r.Rewards[..samples], Discounts = r.Discounts[..samples], Truncated = r.Truncated[..samples],
            TruncatedIndices = r.TruncatedIndices[..r.TruncatedCount], FinalObservations = r.FinalObservations[..(r.TruncatedCount * obs)],
            NextObservations = (float[])unroll.NextObservations.Clone(),
            EpisodeReturns = [.. episodes.Select(e => e.Return)], EpisodeLengths = [.. episodes.Select(e => e.Length)], EpisodeTerminated = [.. episodes.Select(e => e.Terminated)],
            SentTicks = DateTime.UtcNow.Ticks,
        };
    }

    /// <summary>
    /// What is wrong with this message for a learner of <paramref name="tMax"/>-step unrolls of <paramref name="lanes"/>
    /// lanes of <paramref name="env"/> whose newest version is <paramref name="newest"/>, or null when it fits.
    /// </summary>
    public string? Mismatch(int tMax, int lanes, EnvSpec env, long newest)
    {
        ArgumentNullException.ThrowIfNull(env);
        int samples = Steps * lanes, obs = env.ObservationSize, actions = env.ActionSpace.Size;
        return
            Steps != tMax ? $"{Steps} steps (the run's unroll is {tMax})" :
            Observations.Length != samples * obs ? $"{Observations.Length} observation floats (expected {samples * obs} for {env.Id})" :
            (env.IsDiscrete ? DiscreteActions.Length != samples : BoxActions.Length != samples * actions) ? "actions of another shape" :
            LogProbabilities.Length != samples || Rewards.Length != samples || Discounts.Length != samples || Truncated.Length != samples ? "per-sample arrays of another length" :
            TruncatedIndices.Length > samples || FinalObservations.Length < TruncatedIndices.Length * obs ? "truncation data of another shape" :
            NextObservations.Length != lanes * obs ? "next observations of another shape" :
            EpisodeLengths.Length != EpisodeReturns.Length || EpisodeTerminated.Length != EpisodeReturns.Length ? "an episode list of mismatched lengths" :
            ParameterVersion < 0 || ParameterVersion > newest ? $"parameter version {ParameterVersion} (the learner is at {newest})" :
            null;
    }

    /// <summary>Copies a message that fits (<see cref="Mismatch"/>) into the learner's slot <paramref name="unroll"/>.</summary>
    public void CopyTo(Unroll unroll)
    {
        ArgumentNullException.ThrowIfNull(unroll);
        Rollout r = unroll.Rollout;
        Observations.CopyTo(r.Observations, 0);
        DiscreteActions.CopyTo(r.DiscreteActions, 0);
        BoxActions.CopyTo(r.BoxActions, 0);
        LogProbabilities.CopyTo(r.LogProbabilities, 0);
        Rewards.CopyTo(r.Rewards, 0);
        Discounts.CopyTo(r.Discounts, 0);
        Truncated.CopyTo(r.Truncated, 0);
        TruncatedIndices.CopyTo(r.TruncatedIndices, 0);
        FinalObservations.CopyTo(r.FinalObservations, 0);
        r.Restore(Steps, TruncatedIndices.Length);
        NextObservations.CopyTo(unroll.NextObservations, 0);
        unroll.Version = ParameterVersion;
        unroll.MeanVersion = ParameterVersion;
    }

    /// <summary>The episodes that ended in the unroll.</summary>
    public EpisodeRecord[] Episodes()
    {
        var episodes = new EpisodeRecord[EpisodeReturns.Length];
        for (int i = 0; i < episodes.Length; i++) episodes[i] = new EpisodeRecord(0, EpisodeReturns[i], EpisodeLengths[i], EpisodeTerminated[i]);
        return episodes;
    }

    /// <summary>The arrays' bytes (what the unroll carries, not Orleans' framing).</summary>
    public long PayloadBytes =>
        4L * (Observations.Length + DiscreteActions.Length + BoxActions.Length + LogProbabilities.Length + Rewards.Length + Discounts.Length
              + TruncatedIndices.Length + FinalObservations.Length + NextObservations.Length + EpisodeReturns.Length + EpisodeLengths.Length)
        + Truncated.Length + EpisodeTerminated.Length + 28;
}

/// <summary>The learner took the unroll: whether the run is over, and newer parameters if there are any (so an actor needs one round trip per unroll).</summary>
[GenerateSerializer]
public sealed class SubmitReply
{
    [Id(0)] public bool Stop { get; set; }
    /// <summary>The version of <see cref="Theta"/>, or of the parameters that acted when there is nothing newer.</summary>
    [Id(1)] public long ParameterVersion { get; set; }
    /// <summary>theta, or empty when the actor's copy is current.</summary>
    [Id(2)] public float[] Theta { get; set; } = [];
}

/// <summary>The learner, as actors reach it: one grain (key 0) in the learner's silo.</summary>
public interface ILearnerGrain : IGrainWithIntegerKey
{
    /// <summary>Joins the run, or is refused with the reason.</summary>
    Task<JoinReply> Join(JoinRequest request);

    /// <summary>Hands the learner an unroll.</summary>
    Task<SubmitReply> Submit(UnrollMessage unroll);

    /// <summary>The actor is leaving (stopped by its user, or unable to act for this run), and why.</summary>
    Task Leave(int actorId, string reason);
}
