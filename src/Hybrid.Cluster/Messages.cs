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
