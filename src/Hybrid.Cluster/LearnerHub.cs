using System.Diagnostics;
using Hybrid.Envs;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;
using Orleans.Concurrency;

namespace Hybrid.Cluster;

/// <summary>
/// What the learner grain serves from: the run's config and model, where actors' trajectories go (IMPALA's unroll
/// slots, or Ape-X's central replay), and the published parameters. It answers joins (refusing another Hybrid
/// version) and takes unrolls or transition batches: each is checked against the run's shapes before it touches the
/// learner's memory (a bad one is refused with a message naming the actor, and the learner goes on), waits for room
/// (a free slot, or the learner catching up with the actors) without holding a thread, and is answered with newer
/// parameters when there are some. Who has joined and who is still there is the <see cref="ActorRoster"/>'s; the
/// act-to-learn latency and bytes are counted here for the run's telemetry, beside the learner's own.
/// </summary>
public sealed class LearnerHub : ITelemetrySource
{
    readonly AlgoConfig _config;
    readonly ModelSpec _model;
    readonly EnvSpec _env;
    readonly UnrollQueues? _queues;
    readonly int _tMax, _lanes;
    readonly ICentralLearner? _central;
    readonly ITelemetrySource? _learnerTelemetry;
    readonly ParameterBroadcast _published;
    readonly RunContext _run;
    readonly int _parameters;
    readonly ActorRoster _roster;
    readonly CancellationTokenSource _stopping = new();
    long _latencyTicks, _unrolls, _bytes;
    (long Ticks, long Unrolls, long Bytes) _lastInterval;

    /// <summary>IMPALA's hub: unrolls into <paramref name="queues"/>.</summary>
    internal LearnerHub(ImpalaConfig config, ModelSpec model, UnrollQueues queues, ParameterBroadcast published, int parameters, RunContext run, Action<string> log)
        : this(config, config.Lanes.NumEnvs, model, published, parameters, run, log)
    {
        (_queues, _tMax) = (queues, config.TMax);
    }

    /// <summary>Ape-X's or D4PG's hub: transition batches into <paramref name="learner"/>'s central replay; its telemetry joins the cluster's.</summary>
    internal LearnerHub(ICentralLearner learner, RunContext run, Action<string> log)
        : this(learner.Config, learner.Config.Lanes.NumEnvs, learner.Spec, learner.Published, learner.ParameterCount, run, log)
    {
        (_central, _learnerTelemetry) = (learner, learner);
    }

    LearnerHub(AlgoConfig config, int lanes, ModelSpec model, ParameterBroadcast published, int parameters, RunContext run, Action<string> log)
    {
        (_config, _lanes, _model, _published, _parameters, _run) = (config, lanes, model, published, parameters, run);
        _env = EnvRegistry.Spec(config.Env);
        _roster = new ActorRoster(log, () => run.Clock.Seconds);
    }

    /// <summary>Tells every actor, at its next call, that the run is over; an unroll waiting for a slot is turned away.</summary>
    public void Stop() => _stopping.Cancel();

    bool Stopping => _stopping.IsCancellationRequested;

    /// <summary>Actors that have joined.</summary>
    public int Actors => _roster.Joined;

    /// <summary>What the run's actors send, for messages: "an unroll" (IMPALA) or "a transition batch" (Ape-X).</summary>
    public string Trajectory => _central is null ? "an unroll" : "a transition batch";

    /// <summary>Actors that have sent an unroll within the last <see cref="ActorRoster.SilentAfter"/>.</summary>
    public int Connected => _roster.Connected;

    /// <summary>Time since any actor last sent an unroll (since the learner started, before the first).</summary>
    public TimeSpan SinceLastUnroll => _roster.SinceLastUnroll;

    internal JoinReply Join(JoinRequest request)
    {
        if (request.Version != SummaryBuilder.HybridVersion)
        {
            _roster.Log($"refused actor {request.Actor}: it runs Hybrid {request.Version}, the learner {SummaryBuilder.HybridVersion}");
            return new JoinReply { Message = $"the learner runs Hybrid {SummaryBuilder.HybridVersion}; this actor runs {request.Version}." };
        }
        int id = _roster.Join(request.Actor, string.IsNullOrWhiteSpace(request.Process) ? request.Actor : request.Process);
        // The published parameters (the learner's own theta changes under its optimizer step).
        var theta = new float[_parameters];
        long version = _published.CopyIfNewer(theta, -1);
        return new JoinReply
        {
            Accepted = true, ActorId = id, Config = ConfigBinder.ToYaml(_config), Model = _model.ToString(), Theta = theta,
            ParameterVersion = version, Segment = _run.Segment,
        };
    }

    /// <summary>An actor says it is leaving: logged with its reason at once and counted gone.</summary>
    internal void Leave(int actorId, string reason) => _roster.Leave(actorId, reason);

    /// <summary>Logs actors that went silent; at most every second. The learner goes on with the others.</summary>
    internal void CheckActors() => _roster.CheckSilent();

    /// <summary>The reply to an unroll that acted with <paramref name="held"/>: the published parameters if they are newer.</summary>
    SubmitReply Reply(long held)
    {
        if (Stopping) return new SubmitReply { Stop = true, ParameterVersion = held };
        if (_published.Version == held) return new SubmitReply { ParameterVersion = held };
        var theta = new float[_parameters];
        long version = _published.CopyIfNewer(theta, held);
        return version == held ? new SubmitReply { ParameterVersion = held } : new SubmitReply { ParameterVersion = version, Theta = theta };
    }

    internal async Task<SubmitReply> Submit(UnrollMessage m)
    {
        if (Stopping) return new SubmitReply { Stop = true };
        Check(m, _queues is null ? $"this learner runs {_config.Algo}, which takes transition batches, not unrolls"
            : m.Mismatch(_tMax, _lanes, _env, _published.Version));
        _roster.Heard(m.ActorId);
        int slot;
        try
        {
            slot = await _queues!.Free.TakeAsync(_stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return new SubmitReply { Stop = true };
        }
        m.CopyTo(_queues.Slots[slot]);
        Took(m, (long)m.Steps * _lanes, m.PayloadBytes);
        _queues.Full.Add(slot);
        return Reply(m.ParameterVersion);
    }

    internal async Task<SubmitReply> SubmitTransitions(TransitionMessage m)
    {
        if (Stopping) return new SubmitReply { Stop = true };
        Check(m, _central is null ? $"this learner runs {_config.Algo}, which takes unrolls, not transition batches"
            : m.Mismatch(_env, _central.Distributed.ActorSendBatch + _lanes * _central.Config.NStep, _published.Version));
        _roster.Heard(m.ActorId);
        TransitionBatch batch = m.Batch(_env);
        // The learner's rate limiter: while the actors are ahead, the batch waits (as a task, holding no thread) for the
        // learner's next draw; for at most MostWait, so that an actor does not take a learner paused by an evaluation
        // for one gone. Then it goes in regardless.
        long since = Stopwatch.GetTimestamp();
        while (_central!.TryInsert(batch, force: Stopwatch.GetElapsedTime(since) > MostWait) is { } progressed)
        {
            try
            {
                await progressed.WaitAsync(TimeSpan.FromMilliseconds(100), _stopping.Token);
            }
            catch (TimeoutException)
            {
                // Look again: the learner may have drawn without anyone waiting on this task.
            }
            catch (OperationCanceledException)
            {
                return new SubmitReply { Stop = true };
            }
        }
        if (Stopping) return new SubmitReply { Stop = true };
        Took(m, m.Steps, m.PayloadBytes);
        return new SubmitReply { ParameterVersion = m.ParameterVersion };
    }

    /// <summary>How long a transition batch waits for the learner to catch up before it goes into the replay regardless (well inside an actor's <see cref="ClusterRuns.LearnerTimeout"/>).</summary>
    public static TimeSpan MostWait { get; } = TimeSpan.FromSeconds(2);

    /// <summary>The published parameters for an actor holding <paramref name="held"/> (Ape-X's fetch every actor_refresh_steps, counted for the parameter age).</summary>
    internal SubmitReply Parameters(int actorId, long held)
    {
        if (Stopping) return new SubmitReply { Stop = true, ParameterVersion = held };
        if (!_roster.HasJoined(actorId)) throw Refused(actorId, "a parameter request", "no actor of that number has joined this learner");
        if (_published.Version == held) return new SubmitReply { ParameterVersion = held };
        var theta = new float[_parameters];
        long version = _central is null ? _published.CopyIfNewer(theta, held) : _central.Fetch(theta, held);
        return new SubmitReply { ParameterVersion = version, Theta = theta };
    }

    /// <summary>
    /// Counts a message the learner took: its episodes, its <paramref name="steps"/> to its process and to the run
    /// together (a message turned away while it waited counts in neither, so the processes' steps add up to the run's),
    /// its latency and <paramref name="bytes"/>.
    /// </summary>
    void Took(ActorMessage m, long steps, long bytes)
    {
        _run.Metrics.AddEpisodes(m.Episodes());
        _roster.AddSteps(m.ActorId, steps, () => _run.Metrics.AddSteps(steps));
        Interlocked.Add(ref _latencyTicks, Math.Max(0, DateTime.UtcNow.Ticks - m.SentTicks));
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Increment(ref _unrolls);
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Interval(double seconds)
    {
        (long ticks, long unrolls, long bytes) = (Interlocked.Read(ref _latencyTicks), Interlocked.Read(ref _unrolls), Interlocked.Read(ref _bytes));
        RuntimeTelemetry t = Between(ticks - _lastInterval.Ticks, unrolls - _lastInterval.Unrolls, bytes - _lastInterval.Bytes, seconds, _roster.Interval(seconds),
            _learnerTelemetry?.Interval(seconds));
        _lastInterval = (ticks, unrolls, bytes);
        return t;
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Total(double seconds) =>
        Between(Interlocked.Read(ref _latencyTicks), Interlocked.Read(ref _unrolls), Interlocked.Read(ref _bytes), seconds, _roster.Totals(),
            _learnerTelemetry?.Total(seconds));

    RuntimeTelemetry Between(long ticks, long unrolls, long bytes, double seconds, IReadOnlyList<ActorProcessRate> processes, RuntimeTelemetry? learner) =>
        (learner ?? RuntimeTelemetry.None) with
    {
        ActorsConnected = Connected,
        UnrollLatencyMs = unrolls > 0 ? TimeSpan.FromTicks(ticks / unrolls).TotalMilliseconds : double.NaN,
        BytesPerSecond = seconds > 0 ? bytes / seconds : double.NaN,
        ActorProcesses = processes,
    };

    /// <summary>Refuses a message whose arrays do not have the run's shapes (<paramref name="wrong"/>: another env, model or a damaged message) or whose actor never joined.</summary>
    void Check(ActorMessage m, string? wrong)
    {
        wrong = _roster.HasJoined(m.ActorId) ? wrong : "no actor of that number has joined this learner";
        if (wrong is not null) throw Refused(m.ActorId, m is UnrollMessage ? "an unroll" : "a transition batch", wrong);
    }

    /// <summary>Logs and returns the refusal of <paramref name="what"/> from actor <paramref name="actorId"/>.</summary>
    ArgumentException Refused(int actorId, string what, string wrong)
    {
        string text = $"refused {what} from actor {actorId}: {wrong}.";
        _roster.Log(text);
        return new ArgumentException(text);
    }
}

/// <summary>
/// The actors of a cluster learner: who joined (numbered in order), which process each runs in, when each was last
/// heard from, who left or went silent, and each process's env steps (for its rate). Thread-safe.
/// </summary>
internal sealed class ActorRoster(Action<string> log, Func<double> runSeconds)
{
    readonly object _gate = new();
    readonly Dictionary<int, (string Name, long LastSeen, bool Gone)> _seen = [];
    readonly Dictionary<int, ProcessSteps> _processOf = [];
    readonly List<ProcessSteps> _processes = [];
    long _lastUnroll = Stopwatch.GetTimestamp(), _lastCheck;
    int _joined;

    /// <summary>How long an actor may stay silent before the learner counts it gone.</summary>
    public static TimeSpan SilentAfter { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Writes a line to the learner's log.</summary>
    internal void Log(string line) => log(line);

    /// <summary>Actors that have joined.</summary>
    public int Joined => Volatile.Read(ref _joined);

    /// <summary>Actors that have sent an unroll within the last <see cref="SilentAfter"/>.</summary>
    public int Connected
    {
        get
        {
            lock (_gate) return _seen.Values.Count(s => !s.Gone);
        }
    }

    /// <summary>Time since any actor last sent an unroll (since the roster was made, before the first).</summary>
    public TimeSpan SinceLastUnroll
    {
        get
        {
            lock (_gate) return Stopwatch.GetElapsedTime(_lastUnroll);
        }
    }

    /// <summary>Numbers a new actor of <paramref name="process"/>, logs it, and returns its number.</summary>
    internal int Join(string name, string process)
    {
        int id = Interlocked.Increment(ref _joined) - 1;
        lock (_gate)
        {
            _seen[id] = (name, Stopwatch.GetTimestamp(), false);
            ProcessSteps? steps = _processes.Find(p => p.Name == process);
            if (steps is null) _processes.Add(steps = new ProcessSteps(process, runSeconds()));
            steps.Threads++;
            _processOf[id] = steps;
        }
        log($"actor {id} joined: {name} ({Connected} connected)");
        return id;
    }

    /// <summary>Whether actor <paramref name="id"/> has joined.</summary>
    internal bool HasJoined(int id)
    {
        lock (_gate) return _seen.ContainsKey(id);
    }

    /// <summary>An unroll came from actor <paramref name="id"/>: it is there (back, if it had gone silent).</summary>
    internal void Heard(int id)
    {
        lock (_gate)
        {
            var seen = _seen[id];
            if (seen.Gone) log($"actor {id} is back: {seen.Name}");
            _seen[id] = (seen.Name, Stopwatch.GetTimestamp(), false);
            _lastUnroll = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Counts <paramref name="steps"/> to actor <paramref name="id"/>'s process and, under the same lock, to the run (<paramref name="addToRun"/>), so the processes' steps add up to the run's.</summary>
    internal void AddSteps(int id, long steps, Action addToRun)
    {
        lock (_gate)
        {
            ProcessSteps process = _processOf[id];
            process.Steps += steps;
            process.LastSeconds = runSeconds();
            addToRun();
        }
    }

    /// <summary>An actor says it is leaving: logged with its reason at once (rather than after <see cref="SilentAfter"/>) and counted gone.</summary>
    internal void Leave(int actorId, string reason)
    {
        reason = reason.Length > 300 ? reason[..300] + "..." : reason;
        lock (_gate)
        {
            if (!_seen.TryGetValue(actorId, out var s))
            {
                log($"ignored a goodbye from actor {actorId}, which never joined this learner");
                return;
            }
            _seen[actorId] = (s.Name, s.LastSeen, true);
            log($"actor {actorId} ({s.Name}) left: {reason}; {_seen.Values.Count(v => !v.Gone)} connected");
        }
    }

    /// <summary>Logs actors that went silent (killed, disconnected); at most every second.</summary>
    internal void CheckSilent()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - Volatile.Read(ref _lastCheck) < Stopwatch.Frequency) return;
        Volatile.Write(ref _lastCheck, now);
        lock (_gate)
            foreach ((int id, var s) in _seen.ToList())
                if (!s.Gone && Stopwatch.GetElapsedTime(s.LastSeen, now) > SilentAfter)
                {
                    _seen[id] = (s.Name, s.LastSeen, true);
                    log($"actor {id} ({s.Name}) silent for {SilentAfter.TotalSeconds:F0} s: counted gone; {_seen.Values.Count(v => !v.Gone)} connected");
                }
    }

    /// <summary>Each actor process's env steps since the last interval, over <paramref name="seconds"/>.</summary>
    internal ActorProcessRate[] Interval(double seconds)
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
    internal ActorProcessRate[] Totals()
    {
        lock (_gate)
            return [.. _processes.Select(p => new ActorProcessRate(p.Name, p.Threads, p.Steps,
                p.LastSeconds > p.JoinedSeconds ? p.Steps / (p.LastSeconds - p.JoinedSeconds) : double.NaN))];
    }

    /// <summary>One actor process's counters (under the roster's lock).</summary>
    sealed class ProcessSteps(string name, double joinedSeconds)
    {
        public string Name { get; } = name;
        public double JoinedSeconds { get; } = joinedSeconds;
        public int Threads { get; set; }
        public long Steps { get; set; }
        public long StepsAtInterval { get; set; }
        public double LastSeconds { get; set; }
    }
}

/// <summary>The learner grain: forwards every call to the process's <see cref="LearnerHub"/>. Reentrant, so that an actor waiting for a free slot does not hold up the others' parameter requests.</summary>
[Reentrant]
internal sealed class LearnerGrain(LearnerHub hub) : Grain, ILearnerGrain
{
    public Task<JoinReply> Join(JoinRequest request) => Task.FromResult(hub.Join(request));

    public Task<SubmitReply> Submit(UnrollMessage unroll) => hub.Submit(unroll);

    public Task<SubmitReply> SubmitTransitions(TransitionMessage batch) => hub.SubmitTransitions(batch);

    public Task<SubmitReply> Parameters(int actorId, long held) => Task.FromResult(hub.Parameters(actorId, held));

    public Task Leave(int actorId, string reason)
    {
        hub.Leave(actorId, reason);
        return Task.CompletedTask;
    }
}
