using Hybrid.Training.Runs;
using System.Diagnostics;
using Hybrid.Envs;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Rollouts;
using Orleans.Concurrency;

namespace Hybrid.Cluster;

/// <summary>
/// What the learner grain serves from: the run's config and model, the unroll slots the learner takes batches from,
/// and the published parameters. Unrolls from the network are checked against the run's shapes before they touch a
/// slot; a bad one is refused with a message naming the actor, and the learner goes on.
/// </summary>
public sealed class LearnerHub : ITelemetrySource
{
    readonly ImpalaConfig _config;
    readonly ModelSpec _model;
    readonly EnvSpec _env;
    readonly UnrollQueues _queues;
    readonly ParameterBroadcast _published;
    readonly RunContext _run;
    readonly Action<string> _log;
    readonly int _parameters;
    int _actors;
    readonly object _gate = new();
    readonly Dictionary<int, (string Name, long LastSeen, bool Gone)> _seen = [];
    readonly Dictionary<int, ProcessSteps> _processOf = [];
    readonly List<ProcessSteps> _processes = [];
    long _lastCheck;
    volatile bool _stopping;
    long _latencyTicks, _unrolls, _bytes;
    (long Ticks, long Unrolls, long Bytes) _lastInterval;

    internal LearnerHub(ImpalaConfig config, ModelSpec model, UnrollQueues queues, ParameterBroadcast published, int parameters, RunContext run, Action<string> log)
    {
        (_config, _model, _queues, _published, _parameters, _run, _log) = (config, model, queues, published, parameters, run, log);
        _env = EnvRegistry.Spec(config.Env);
    }

    /// <summary>Tells every actor, at its next call, that the run is over.</summary>
    public void Stop() => _stopping = true;

    /// <summary>Actors that have joined.</summary>
    public int Actors => Volatile.Read(ref _actors);

    internal JoinReply Join(JoinRequest request)
    {
        if (request.Version != SummaryBuilder.HybridVersion)
        {
            _log($"refused actor {request.Actor}: it runs Hybrid {request.Version}, the learner {SummaryBuilder.HybridVersion}");
            return new JoinReply { Message = $"the learner runs Hybrid {SummaryBuilder.HybridVersion}; this actor runs {request.Version}." };
        }
        int id = Interlocked.Increment(ref _actors) - 1;
        string process = string.IsNullOrWhiteSpace(request.Process) ? request.Actor : request.Process;
        lock (_gate)
        {
            _seen[id] = (request.Actor, Stopwatch.GetTimestamp(), false);
            ProcessSteps? steps = _processes.Find(p => p.Name == process);
            if (steps is null) _processes.Add(steps = new ProcessSteps(process, _run.Clock.Seconds));
            steps.Threads++;
            _processOf[id] = steps;
        }
        _log($"actor {id} joined: {request.Actor} ({Connected} connected)");
        // The published parameters (the learner's own theta changes under its optimizer step).
        var theta = new float[_parameters];
        long version = _published.CopyIfNewer(theta, -1);
        return new JoinReply
        {
            Accepted = true, ActorId = id, Config = ConfigBinder.ToYaml(_config), Model = _model.ToString(), Theta = theta,
            ParameterVersion = version, Segment = _run.Segment,
        };
    }

    /// <summary>The reply to an unroll that acted with <paramref name="held"/>: the published parameters if they are newer.</summary>
    SubmitReply Reply(long held)
    {
        if (_stopping) return new SubmitReply { Stop = true, ParameterVersion = held };
        if (_published.Version == held) return new SubmitReply { ParameterVersion = held };
        var theta = new float[_parameters];
        long version = _published.CopyIfNewer(theta, held);
        return version == held ? new SubmitReply { ParameterVersion = held } : new SubmitReply { ParameterVersion = version, Theta = theta };
    }

    internal async Task<SubmitReply> Submit(UnrollMessage m)
    {
        if (_stopping) return new SubmitReply { Stop = true };
        Check(m);
        lock (_gate)
        {
            var seen = _seen[m.ActorId];
            if (seen.Gone) _log($"actor {m.ActorId} is back: {seen.Name}");
            _seen[m.ActorId] = (seen.Name, Stopwatch.GetTimestamp(), false);
            _lastUnroll = Stopwatch.GetTimestamp();
        }
        int slot;
        while (!_queues.Free.TryTake(out slot, 0))
        {
            if (_stopping) return new SubmitReply { Stop = true };
            await Task.Delay(1);
        }
        m.CopyTo(_queues.Slots[slot]);
        _run.Metrics.AddEpisodes(m.Episodes());
        // The process's steps and the run's together, once the unroll has a slot: an unroll turned away while it waited
        // (the run stopping) counts in neither, so the processes' steps add up to the run's.
        lock (_gate)
        {
            ProcessSteps process = _processOf[m.ActorId];
            process.Steps += (long)m.Steps * _config.Lanes.NumEnvs;
            process.LastSeconds = _run.Clock.Seconds;
            _run.Metrics.AddSteps((long)m.Steps * _config.Lanes.NumEnvs);
        }
        Interlocked.Add(ref _latencyTicks, Math.Max(0, DateTime.UtcNow.Ticks - m.SentTicks));
        Interlocked.Add(ref _bytes, m.PayloadBytes);
        Interlocked.Increment(ref _unrolls);
        _queues.Full.Add(slot);
        return Reply(m.ParameterVersion);
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Interval(double seconds)
    {
        (long ticks, long unrolls, long bytes) = (Interlocked.Read(ref _latencyTicks), Interlocked.Read(ref _unrolls), Interlocked.Read(ref _bytes));
        RuntimeTelemetry t = Between(ticks - _lastInterval.Ticks, unrolls - _lastInterval.Unrolls, bytes - _lastInterval.Bytes, seconds, ProcessInterval(seconds));
        _lastInterval = (ticks, unrolls, bytes);
        return t;
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Total(double seconds) =>
        Between(Interlocked.Read(ref _latencyTicks), Interlocked.Read(ref _unrolls), Interlocked.Read(ref _bytes), seconds, ProcessTotals());

    RuntimeTelemetry Between(long ticks, long unrolls, long bytes, double seconds, IReadOnlyList<ActorProcessRate> processes) => RuntimeTelemetry.None with
    {
        ActorsConnected = Connected,
        UnrollLatencyMs = unrolls > 0 ? TimeSpan.FromTicks(ticks / unrolls).TotalMilliseconds : double.NaN,
        BytesPerSecond = seconds > 0 ? bytes / seconds : double.NaN,
        ActorProcesses = processes,
    };

    /// <summary>Each actor process's env steps since the last interval, over <paramref name="seconds"/>.</summary>
    ActorProcessRate[] ProcessInterval(double seconds)
    {
        lock (_gate)
            return [.. _processes.Select(p =>
            {
                long steps = p.Steps - p.StepsAtInterval;
                p.StepsAtInterval = p.Steps;
                return new ActorProcessRate(p.Name, p.Threads, steps, seconds > 0 ? steps / seconds : double.NaN);
            })];
    }

    /// <summary>Each actor process's env steps over the run, per second of the time from its join to its last unroll.</summary>
    ActorProcessRate[] ProcessTotals()
    {
        lock (_gate)
            return [.. _processes.Select(p => new ActorProcessRate(p.Name, p.Threads, p.Steps,
                p.LastSeconds > p.JoinedSeconds ? p.Steps / (p.LastSeconds - p.JoinedSeconds) : double.NaN))];
    }

    /// <summary>One actor process's counters (under the hub's lock).</summary>
    sealed class ProcessSteps(string name, double joinedSeconds)
    {
        public string Name { get; } = name;
        public double JoinedSeconds { get; } = joinedSeconds;
        public int Threads { get; set; }
        public long Steps { get; set; }
        public long StepsAtInterval { get; set; }
        public double LastSeconds { get; set; }
    }

    long _lastUnroll = Stopwatch.GetTimestamp();

    /// <summary>Time since any actor last sent an unroll (since the learner started, before the first).</summary>
    public TimeSpan SinceLastUnroll
    {
        get
        {
            lock (_gate) return Stopwatch.GetElapsedTime(_lastUnroll);
        }
    }

    /// <summary>Actors that have sent an unroll within the last <see cref="SilentAfter"/>.</summary>
    public int Connected
    {
        get
        {
            lock (_gate) return _seen.Values.Count(s => !s.Gone);
        }
    }

    /// <summary>How long an actor may stay silent before the learner counts it gone.</summary>
    public static TimeSpan SilentAfter { get; } = TimeSpan.FromSeconds(5);

    /// <summary>An actor says it is leaving: logged with its reason at once (rather than after <see cref="SilentAfter"/>) and counted gone.</summary>
    internal void Leave(int actorId, string reason)
    {
        reason = reason.Length > 300 ? reason[..300] + "..." : reason;
        lock (_gate)
        {
            if (!_seen.TryGetValue(actorId, out var s))
            {
                _log($"ignored a goodbye from actor {actorId}, which never joined this learner");
                return;
            }
            _seen[actorId] = (s.Name, s.LastSeen, true);
            _log($"actor {actorId} ({s.Name}) left: {reason}; {_seen.Values.Count(v => !v.Gone)} connected");
        }
    }

    /// <summary>Logs actors that went silent (killed, disconnected); at most every second. The learner goes on with the others.</summary>
    internal void CheckActors()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _lastCheck < Stopwatch.Frequency) return;
        _lastCheck = now;
        lock (_gate)
            foreach ((int id, var s) in _seen.ToList())
                if (!s.Gone && Stopwatch.GetElapsedTime(s.LastSeen, now) > SilentAfter)
                {
                    _seen[id] = (s.Name, s.LastSeen, true);
                    _log($"actor {id} ({s.Name}) silent for {SilentAfter.TotalSeconds:F0} s: counted gone; {_seen.Values.Count(v => !v.Gone)} connected");
                }
    }

    /// <summary>Refuses an unroll whose arrays do not have the run's shapes (another env, model or a damaged message).</summary>
    void Check(UnrollMessage m)
    {
        bool joined;
        lock (_gate) joined = _seen.ContainsKey(m.ActorId);
        string? wrong = joined ? m.Mismatch(_config.TMax, _config.Lanes.NumEnvs, _env, _published.Version) : "no actor of that number has joined this learner";
        if (wrong is null) return;
        string text = $"refused an unroll from actor {m.ActorId}: {wrong}.";
        _log(text);
        throw new ArgumentException(text);
    }
}

/// <summary>The learner grain: forwards every call to the process's <see cref="LearnerHub"/>. Reentrant, so that an actor waiting for a free slot does not hold up the others' parameter requests.</summary>
[Reentrant]
internal sealed class LearnerGrain(LearnerHub hub) : Grain, ILearnerGrain
{
    public Task<JoinReply> Join(JoinRequest request) => Task.FromResult(hub.Join(request));

    public Task<SubmitReply> Submit(UnrollMessage unroll) => hub.Submit(unroll);

    public Task Leave(int actorId, string reason)
    {
        hub.Leave(actorId, reason);
        return Task.CompletedTask;
    }
}
