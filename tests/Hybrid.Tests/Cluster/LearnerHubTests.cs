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
