using Hybrid.Cluster;
using Hybrid.Envs;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Cluster;

/// <summary>What a cluster learner does with what arrives from the network: joins, unrolls of the run's shapes, and refusals that name the actor.</summary>
public sealed class LearnerHubTests
{
    readonly ImpalaConfig _config = (ImpalaConfig)Trainer.DefaultConfig("impala");
    readonly List<string> _log = [];
    readonly UnrollQueues _queues;
    readonly LearnerHub _hub;
    readonly float[] _theta;
    readonly ParameterBroadcast _published;

    public LearnerHubTests()
    {
        var run = new RunContext(_config, null, null);
        var learner = new LearnerParameters(_config, run, "impala");
        EnvSpec env = EnvRegistry.Spec(_config.Env);
        _queues = new UnrollQueues(_config.Batch, 2, _config.TMax, _config.Lanes.NumEnvs, env);
        (_theta, _published) = (learner.Theta, new ParameterBroadcast(learner.Theta));
        _hub = new LearnerHub(_config, learner.Spec, _queues, _published, learner.Theta.Length, run, _log.Add);
    }

    /// <summary>An unroll of the run's shapes: CartPole's 4 observation floats, discrete actions, one ended episode.</summary>
    UnrollMessage Unroll(int actor)
    {
        int samples = _config.TMax * _config.Lanes.NumEnvs, obs = EnvRegistry.Spec(_config.Env).ObservationSize;
        return new UnrollMessage
        {
            ActorId = actor, Steps = _config.TMax, Observations = new float[samples * obs], DiscreteActions = new int[samples],
            LogProbabilities = new float[samples], Rewards = new float[samples], Discounts = new float[samples], Truncated = new bool[samples],
            NextObservations = new float[_config.Lanes.NumEnvs * obs], EpisodeReturns = [12f], EpisodeLengths = [12], EpisodeTerminated = [true],
            SentTicks = DateTime.UtcNow.Ticks,
        };
    }

    int Join(string name) => _hub.Join(new JoinRequest { Actor = name, Process = name, Version = SummaryBuilder.HybridVersion }).ActorId;

    [Fact]
    public async Task AWellFormedUnrollFromAJoinedActorIsQueued()
    {
        int id = Join("host-a");
        await _hub.Submit(Unroll(id));
        Assert.Equal(1, _queues.Full.Count);
        RuntimeTelemetry total = _hub.Total(1.0);
        ActorProcessRate process = Assert.Single(total.ActorProcesses!);
        Assert.Equal(("host-a", 1, (long)_config.TMax * _config.Lanes.NumEnvs), (process.Process, process.Threads, process.EnvSteps));
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "steps", "steps (the run's unroll is" },
        { "observations", "observation floats" },
        { "actions", "actions of another shape" },
        { "rewards", "per-sample arrays of another length" },
        { "episodes", "an episode list of mismatched lengths" },
        { "version", "parameter version 5" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task AMalformedUnrollIsRefusedNamingTheActorAndTheLearnerGoesOn(string damage, string expected)
    {
        int id = Join("host-b");
        UnrollMessage bad = Unroll(id);
        switch (damage)
        {
            case "steps": bad.Steps = _config.TMax + 1; break;
            case "observations": bad.Observations = new float[3]; break;
            case "actions": bad.DiscreteActions = []; break;
            case "rewards": bad.Rewards = new float[1]; break;
            case "episodes": bad.EpisodeLengths = []; break;
            case "version": bad.ParameterVersion = 5; break;
        }
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _hub.Submit(bad));
        Assert.Contains($"actor {id}", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(_log, line => line.Contains($"refused an unroll from actor {id}"));
        Assert.Equal(0, _queues.Full.Count);
        // Nothing was counted, and the next good unroll is taken.
        Assert.Equal(0, _hub.Total(1.0).ActorProcesses![0].EnvSteps);
        await _hub.Submit(Unroll(id));
        Assert.Equal(1, _queues.Full.Count);
    }

    [Fact]
    public async Task AnUnrollWaitingForASlotIsTurnedAwayWhenTheLearnerStops()
    {
        // Every slot held (the learner is behind): the unroll waits for one without holding a thread, and the stop
        // answers it; it is counted nowhere.
        int id = Join("host-e");
        while (_queues.Free.TryTake(out _, 0)) { }
        Task<SubmitReply> waiting = _hub.Submit(Unroll(id));
        Assert.False(waiting.IsCompleted);
        _hub.Stop();
        SubmitReply reply = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(reply.Stop);
        Assert.Equal(0, _queues.Full.Count);
        Assert.Equal(0, _hub.Total(1.0).ActorProcesses![0].EnvSteps);
    }

    [Fact]
    public async Task AnUnrollFromAnActorThatNeverJoinedIsRefused()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _hub.Submit(Unroll(41)));
        Assert.Contains("actor 41", e.Message);
        Assert.Contains("no actor of that number has joined", e.Message);
        Assert.Equal(0, _queues.Full.Count);
    }

    [Fact]
    public async Task TheReplyToAnUnrollBringsNewerParametersAndAJoinLeavesTheLearnersOwnAlone()
    {
        // The learner has stepped theta past what it published: a join gets the published copy and leaves theta be.
        float[] stepped = [.. _theta.Select(x => x + 1f)];
        stepped.CopyTo(_theta, 0);
        JoinReply join = _hub.Join(new JoinRequest { Actor = "host-d", Process = "host-d", Version = SummaryBuilder.HybridVersion });
        Assert.Equal(stepped, _theta);
        Assert.NotEqual(stepped, join.Theta);
        Assert.Equal(0, join.ParameterVersion);
        // Nothing newer: the reply carries no parameters. Published version 1: the next reply carries it.
        SubmitReply reply = await _hub.Submit(Unroll(join.ActorId));
        Assert.Empty(reply.Theta);
        _published.Publish(_theta, 1);
        reply = await _hub.Submit(Unroll(join.ActorId));
        Assert.Equal(1, reply.ParameterVersion);
        Assert.Equal(stepped, reply.Theta);
        UnrollMessage current = Unroll(join.ActorId);
        current.ParameterVersion = 1;
        Assert.Empty((await _hub.Submit(current)).Theta);
    }

    [Fact]
    public void AnActorThatLeavesIsLoggedWithItsReasonAndCountedGone()
    {
        int id = Join("host-c pid 3 thread 0");
        Assert.Equal(1, _hub.Connected);
        _hub.Leave(id, "the learner trains 'mlp 4-64-64'; this actor's build makes 'mlp 4-32' for the run's config");
        Assert.Equal(0, _hub.Connected);
        Assert.Contains(_log, line => line.StartsWith($"actor {id} (host-c pid 3 thread 0) left: the learner trains", StringComparison.Ordinal));
        _hub.Leave(99, "stopped by its user");
        Assert.Contains(_log, line => line.Contains("ignored a goodbye from actor 99, which never joined"));
    }

    [Fact]
    public void AnActorOfAnotherHybridVersionIsRefusedByName()
    {
        JoinReply reply = _hub.Join(new JoinRequest { Actor = "old-host pid 9 thread 0", Process = "old-host:9", Version = "0.0.1" });
        Assert.False(reply.Accepted);
        Assert.Contains("0.0.1", reply.Message);
        Assert.Contains(_log, line => line.Contains("refused actor old-host pid 9 thread 0"));
        Assert.Equal(0, _hub.Actors);
    }
}

/// <summary>Ape-X's cluster learner: transition batches of the run's shapes go into its replay at their priorities, bad ones are refused naming the actor, and the rate limiter holds actors that are ahead.</summary>
public sealed class ApexLearnerHubTests
{
    // A small replay and limiter: past 10 transitions, the actors may be at most one batch of 10 ahead of the learner.
    readonly ApexConfig _config = new() { LearningStarts = 10, Distributed = new() { ActorSendBatch = 10 }, Threads = 1, BufferSize = 1_000 };
    readonly List<string> _log = [];
    readonly ApexLearner _learner;
    readonly LearnerHub _hub;

    public ApexLearnerHubTests()
    {
        var run = new RunContext(_config, null, null);
        _learner = new ApexLearner(_config, run);
        _hub = new LearnerHub(_learner, run, _log.Add);
    }

    /// <summary><paramref name="count"/> CartPole transitions (4 observation floats) from <paramref name="actor"/>, after 25 env steps in which one episode ended.</summary>
    static TransitionMessage Batch(int actor, int count = 10) => new()
    {
        ActorId = actor, Steps = 25, Observations = new float[count * 4], Actions = [.. Enumerable.Range(0, count).Select(i => (float)(i % 2))],
        Rewards = [.. Enumerable.Repeat(1f, count)], Discounts = [.. Enumerable.Repeat(0.97f, count)], NextObservations = new float[count * 4],
        Errors = [.. Enumerable.Range(0, count).Select(i => 0.5f + i)], EpisodeReturns = [20f], EpisodeLengths = [20], EpisodeTerminated = [true],
        SentTicks = DateTime.UtcNow.Ticks,
    };

    int Join(string name) => _hub.Join(new JoinRequest { Actor = name, Process = name, Version = SummaryBuilder.HybridVersion }).ActorId;

    [Fact]
    public async Task AWellFormedBatchGoesIntoTheReplayAtItsActorsPrioritiesAndItsStepsAreCounted()
    {
        int id = Join("host-a");
        SubmitReply reply = await _hub.SubmitTransitions(Batch(id));
        Assert.False(reply.Stop);
        RuntimeTelemetry total = _hub.Total(1.0);
        Assert.Equal(10, total.ReplaySize);
        // Priorities |error| + eps: the largest error, 9.5, sets the maximum.
        Assert.Equal(9.5 + _config.PrioritizedEps, total.PriorityMax, 1e-4);
        ActorProcessRate process = Assert.Single(total.ActorProcesses!);
        Assert.Equal(25, process.EnvSteps);
        Assert.Equal(1, total.ActorsConnected);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "observations", "observations of another shape" },
        { "action", "an action outside [0, 2)" },
        { "fraction", "an action outside [0, 2)" },
        { "error", "not a finite number" },
        { "discount", "not a finite number" },
        { "rewards", "per-transition arrays of another length" },
        { "too many", "transitions (a batch holds at most" },
        { "version", "parameter version 3" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task AMalformedBatchIsRefusedNamingTheActorAndTheReplayIsUntouched(string damage, string expected)
    {
        int id = Join("host-b");
        TransitionMessage bad = Batch(id);
        switch (damage)
        {
            case "observations": bad.NextObservations = new float[3]; break;
            case "action": bad.Actions[4] = 2; break;
            case "error": bad.Errors[1] = float.PositiveInfinity; break;
            case "discount": bad.Discounts[0] = 1.5f; break;
            case "rewards": bad.Discounts = [1f]; break;
            case "fraction": bad.Actions[2] = 0.5f; break;
            case "too many": bad = Batch(id, 10_000); break;
            case "version": bad.ParameterVersion = 3; break;
        }
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _hub.SubmitTransitions(bad));
        Assert.Contains($"actor {id}", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(_log, line => line.Contains($"refused a transition batch from actor {id}"));
        Assert.Equal(0, _hub.Total(1.0).ReplaySize);
        await _hub.SubmitTransitions(Batch(id));
        Assert.Equal(10, _hub.Total(1.0).ReplaySize);
    }

    [Fact]
    public async Task AnUnrollSentToAnApexLearnerIsRefusedAndABatchSentToAnImpalaLearnerToo()
    {
        int id = Join("host-c");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _hub.Submit(new UnrollMessage { ActorId = id }));
        Assert.Contains("this learner runs apex, which takes transition batches, not unrolls", e.Message);
        var impala = (ImpalaConfig)Trainer.DefaultConfig("impala");
        var run = new RunContext(impala, null, null);
        var parameters = new LearnerParameters(impala, run, "impala");
        var queues = new UnrollQueues(impala.Batch, 2, impala.TMax, impala.Lanes.NumEnvs, EnvRegistry.Spec(impala.Env));
        var hub = new LearnerHub(impala, parameters.Spec, queues, new ParameterBroadcast(parameters.Theta), parameters.Theta.Length, run, _ => { });
        int other = hub.Join(new JoinRequest { Actor = "x", Process = "x", Version = SummaryBuilder.HybridVersion }).ActorId;
        e = await Assert.ThrowsAsync<ArgumentException>(() => hub.SubmitTransitions(Batch(other)));
        Assert.Contains("this learner runs impala, which takes unrolls, not transition batches", e.Message);
    }

    [Fact]
    public async Task ABatchOfAnActorAheadOfTheLearnerWaitsWithoutAThreadAndIsTurnedAwayWhenTheLearnerStops()
    {
        // No learner thread draws: 10 transitions to start learning, then one batch of slack; the fourth batch waits.
        int id = Join("host-e");
        for (int i = 0; i < 3; i++) await _hub.SubmitTransitions(Batch(id));
        Task<SubmitReply> waiting = _hub.SubmitTransitions(Batch(id));
        Assert.False(waiting.IsCompleted);
        _hub.Stop();
        SubmitReply reply = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(reply.Stop);
        RuntimeTelemetry total = _hub.Total(1.0);
        Assert.Equal(30, total.ReplaySize);
        Assert.Equal(75, total.ActorProcesses![0].EnvSteps);
    }

    [Fact]
    public void AParameterRequestBringsNewerParametersOnlyAndCountsTheirAge()
    {
        JoinReply join = _hub.Join(new JoinRequest { Actor = "host-d", Process = "host-d", Version = SummaryBuilder.HybridVersion });
        Assert.Equal(0, join.ParameterVersion);
        Assert.Empty(_hub.Parameters(join.ActorId, 0).Theta);
        float[] newer = [.. join.Theta.Select(x => x + 1f)];
        _learner.Published.Publish(newer, 4);
        SubmitReply reply = _hub.Parameters(join.ActorId, 0);
        Assert.Equal(4, reply.ParameterVersion);
        Assert.Equal(newer, reply.Theta);
        // The copy replaced one 4 versions old.
        Assert.Equal(4, _hub.Total(1.0).ParameterAge);
        Assert.Throws<ArgumentException>(() => _hub.Parameters(77, 0));
    }
}

/// <summary>D4PG's cluster learner: box-action batches without priorities go into its central replay; actions outside the scaled box are refused.</summary>
public sealed class D4pgLearnerHubTests
{
    readonly D4pgConfig _config = new() { Env = "Pendulum-v1", Threads = 2, LearningStarts = 10, BufferSize = 1_000, VMin = -850f, VMax = 0f };
    readonly List<string> _log = [];
    readonly LearnerHub _hub;

    public D4pgLearnerHubTests()
    {
        var run = new RunContext(_config, null, null);
        _hub = new LearnerHub(new D4pgActors(_config, run), run, _log.Add);
    }

    /// <summary><paramref name="count"/> Pendulum transitions (3 observation floats, one action float in [-1, 1]) without priorities (NaN).</summary>
    static TransitionMessage Batch(int actor, int count = 10) => new()
    {
        ActorId = actor, Steps = 10, Observations = new float[count * 3], Actions = [.. Enumerable.Range(0, count).Select(i => i / (float)count - 0.5f)],
        Rewards = [.. Enumerable.Repeat(-1f, count)], Discounts = [.. Enumerable.Repeat(0.9f, count)], NextObservations = new float[count * 3],
        Errors = [.. Enumerable.Repeat(float.NaN, count)], SentTicks = DateTime.UtcNow.Ticks,
    };

    [Fact]
    public async Task ABoxBatchWithoutPrioritiesGoesInAndAnActionOutsideTheBoxIsRefused()
    {
        int id = _hub.Join(new JoinRequest { Actor = "host-a", Process = "host-a", Version = SummaryBuilder.HybridVersion }).ActorId;
        Assert.False((await _hub.SubmitTransitions(Batch(id))).Stop);
        Assert.Equal(10, _hub.Total(1.0).ReplaySize);
        TransitionMessage bad = Batch(id);
        bad.Actions[3] = 1.5f;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _hub.SubmitTransitions(bad));
        Assert.Contains($"actor {id}", e.Message);
        Assert.Contains("an action outside the box scaled to [-1, 1]", e.Message);
        Assert.Equal(10, _hub.Total(1.0).ReplaySize);
    }
}
