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

/// <summary>What every actor's message carries beside its trajectories: who sent it, with which parameters, the episodes that ended in it, and when.</summary>
[GenerateSerializer]
public abstract class ActorMessage
{
    [Id(0)] public int ActorId { get; set; }
    /// <summary>The parameter version that acted.</summary>
    [Id(1)] public long ParameterVersion { get; set; }
    [Id(2)] public float[] EpisodeReturns { get; set; } = [];
    [Id(3)] public int[] EpisodeLengths { get; set; } = [];
    [Id(4)] public bool[] EpisodeTerminated { get; set; } = [];
    /// <summary>When the actor sent the message (UTC ticks), for the act-to-learn latency.</summary>
    [Id(5)] public long SentTicks { get; set; }

    /// <summary>Stamps the message now with <paramref name="episodes"/>.</summary>
    protected void Stamp(int actorId, long version, IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        (ActorId, ParameterVersion) = (actorId, version);
        EpisodeReturns = [.. episodes.Select(e => e.Return)];
        EpisodeLengths = [.. episodes.Select(e => e.Length)];
        EpisodeTerminated = [.. episodes.Select(e => e.Terminated)];
        SentTicks = DateTime.UtcNow.Ticks;
    }

    /// <summary>What is wrong with the fields every message has, for a learner whose newest version is <paramref name="newest"/>, or null.</summary>
    protected string? CommonMismatch(long newest) =>
        EpisodeLengths.Length != EpisodeReturns.Length || EpisodeTerminated.Length != EpisodeReturns.Length ? "an episode list of mismatched lengths" :
        ParameterVersion < 0 || ParameterVersion > newest ? $"parameter version {ParameterVersion} (the learner is at {newest})" :
        null;

    /// <summary>The episodes that ended in the message's steps.</summary>
    public EpisodeRecord[] Episodes()
    {
        var episodes = new EpisodeRecord[EpisodeReturns.Length];
        for (int i = 0; i < episodes.Length; i++) episodes[i] = new EpisodeRecord(0, EpisodeReturns[i], EpisodeLengths[i], EpisodeTerminated[i]);
        return episodes;
    }

    /// <summary>The episode arrays' bytes and the fixed fields'.</summary>
    protected long CommonBytes => 4L * (EpisodeReturns.Length + EpisodeLengths.Length) + EpisodeTerminated.Length + 20;
}

/// <summary>One unroll of an actor's lanes: what the learner's rollout holds, and the episodes that ended in it.</summary>
[GenerateSerializer]
public sealed class UnrollMessage : ActorMessage
{
    [Id(0)] public int Steps { get; set; }
    [Id(1)] public float[] Observations { get; set; } = [];
    [Id(2)] public int[] DiscreteActions { get; set; } = [];
    [Id(3)] public float[] BoxActions { get; set; } = [];
    [Id(4)] public float[] LogProbabilities { get; set; } = [];
    [Id(5)] public float[] Rewards { get; set; } = [];
    [Id(6)] public float[] Discounts { get; set; } = [];
    [Id(7)] public bool[] Truncated { get; set; } = [];
    [Id(8)] public int[] TruncatedIndices { get; set; } = [];
    [Id(9)] public float[] FinalObservations { get; set; } = [];
    /// <summary>The observations after the last step (the bootstrap states).</summary>
    [Id(10)] public float[] NextObservations { get; set; } = [];

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
        var message = new UnrollMessage
        {
            Steps = r.Steps,
            Observations = r.Observations[..(samples * obs)], DiscreteActions = r.Discrete ? r.DiscreteActions[..samples] : [],
            BoxActions = r.Discrete ? [] : r.BoxActions[..(samples * r.ActionSize)], LogProbabilities = r.LogProbabilities[..samples],
            Rewards = r.Rewards[..samples], Discounts = r.Discounts[..samples], Truncated = r.Truncated[..samples],
            TruncatedIndices = r.TruncatedIndices[..r.TruncatedCount], FinalObservations = r.FinalObservations[..(r.TruncatedCount * obs)],
            NextObservations = (float[])unroll.NextObservations.Clone(),
        };
        message.Stamp(actorId, unroll.Version, episodes);
        return message;
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
            CommonMismatch(newest);
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

    /// <summary>The arrays' bytes (what the unroll carries, not Orleans' framing).</summary>
    public long PayloadBytes =>
        4L * (Observations.Length + DiscreteActions.Length + BoxActions.Length + LogProbabilities.Length + Rewards.Length + Discounts.Length
              + TruncatedIndices.Length + FinalObservations.Length + NextObservations.Length + 2)
        + Truncated.Length + CommonBytes;
}

/// <summary>
/// An Ape-X actor's batch of complete n-step transitions with the TD errors its own parameters gave them (their initial
/// priorities), the env steps it took since its last batch, and the episodes that ended in them.
/// </summary>
[GenerateSerializer]
public sealed class TransitionMessage : ActorMessage
{
    /// <summary>Env steps the actor's lanes took since its previous batch.</summary>
    [Id(0)] public int Steps { get; set; }
    [Id(1)] public float[] Observations { get; set; } = [];
    /// <summary>Each transition's action as a row of floats: a discrete action's index, or a box action scaled to [-1, 1].</summary>
    [Id(2)] public float[] Actions { get; set; } = [];
    [Id(3)] public float[] Rewards { get; set; } = [];
    [Id(4)] public float[] Discounts { get; set; } = [];
    [Id(5)] public float[] NextObservations { get; set; } = [];
    [Id(6)] public float[] Errors { get; set; } = [];

    /// <summary>The wire form of <paramref name="batch"/> from actor <paramref name="actorId"/>, who took <paramref name="steps"/> env steps since its last, with the <paramref name="episodes"/> that ended in them, stamped now.</summary>
    public static TransitionMessage Of(int actorId, long version, TransitionBatch batch, int steps, IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int count = batch.Count, obs = batch.ObservationSize;
        var message = new TransitionMessage
        {
            Steps = steps, Observations = batch.Observations[..(count * obs)], Actions = batch.Actions[..(count * batch.ActionWidth)], Rewards = batch.Rewards[..count],
            Discounts = batch.Discounts[..count], NextObservations = batch.Next[..(count * obs)], Errors = batch.Errors[..count],
        };
        message.Stamp(actorId, version, episodes);
        return message;
    }

    /// <summary>
    /// What is wrong with this message for a learner of <paramref name="env"/> that takes at most <paramref name="most"/>
    /// transitions in one batch and whose newest version is <paramref name="newest"/>, or null when it fits.
    /// </summary>
    public string? Mismatch(EnvSpec env, int most, long newest)
    {
        ArgumentNullException.ThrowIfNull(env);
        int count = Rewards.Length, obs = env.ObservationSize, actions = Hybrid.Training.Algorithms.Acting.ActionCount(env), width = ActionWidth(env);
        return
            count > most ? $"{count} transitions (a batch holds at most {most})" :
            Steps < 0 ? $"{Steps} env steps" :
            Observations.Length != count * obs || NextObservations.Length != count * obs ? $"observations of another shape (expected {count * obs} floats for {env.Id})" :
            Actions.Length != count * width || Discounts.Length != count || Errors.Length != count ? "per-transition arrays of another length" :
            (env.IsDiscrete ? Actions.Any(a => a < 0 || a >= actions || a != MathF.Floor(a)) : Actions.Any(a => !(a is >= -1f and <= 1f)))
                ? (env.IsDiscrete ? $"an action outside [0, {actions})" : "an action outside the box scaled to [-1, 1]") :
            // A NaN error is an actor's way of giving no priority (the replay's largest then).
            Errors.Any(float.IsInfinity) || Rewards.Any(r => !float.IsFinite(r)) || Discounts.Any(d => d is < 0 or > 1 || float.IsNaN(d)) ? "a reward, discount or TD error that is not a finite number in range" :
            CommonMismatch(newest);
    }

    /// <summary>The batch over this message's arrays (not copied), for <paramref name="env"/>.</summary>
    public TransitionBatch Batch(EnvSpec env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return new(Observations, Actions, Rewards, Discounts, NextObservations, Errors, env.ObservationSize, ActionWidth(env), Rewards.Length);
    }

    /// <summary>Floats per action in <paramref name="env"/>: 1 for a discrete action's index, a box action's size.</summary>
    static int ActionWidth(EnvSpec env) => env.IsDiscrete ? 1 : env.ActionSpace.Size;

    /// <summary>The arrays' bytes (what the batch carries, not Orleans' framing).</summary>
    public long PayloadBytes =>
        4L * (Observations.Length + Actions.Length + Rewards.Length + Discounts.Length + NextObservations.Length + Errors.Length + 1) + CommonBytes;
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

    /// <summary>Hands the learner an unroll (IMPALA).</summary>
    Task<SubmitReply> Submit(UnrollMessage unroll);

    /// <summary>Hands the learner a batch of transitions for its replay (Ape-X); answered once they are in (the actors wait while they are ahead of the learner).</summary>
    Task<SubmitReply> SubmitTransitions(TransitionMessage batch);

    /// <summary>The published parameters if they are newer than <paramref name="held"/>.</summary>
    Task<SubmitReply> Parameters(int actorId, long held);

    /// <summary>The actor is leaving (stopped by its user, or unable to act for this run), and why.</summary>
    Task Leave(int actorId, string reason);
}
