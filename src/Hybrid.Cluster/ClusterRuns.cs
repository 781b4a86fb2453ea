using System.Diagnostics;
using Hybrid.Envs;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hybrid.Cluster;

/// <summary>
/// Where the cluster is: this machine (Orleans' localhost clustering: silo port 11111, gateway port 30000 unless set),
/// or the Redis server that holds the membership of a cluster across machines (<see cref="Redis"/>, HOST:PORT).
/// </summary>
public sealed record ClusterAddress(int SiloPort = 11111, int GatewayPort = 30000, string? Redis = null)
{
    /// <summary>
    /// The Orleans cluster's name in Redis: actors join only a learner of the same, so two runs may share one Redis
    /// under two names (<c>--cluster-id</c>). Localhost clusters are told apart by their ports.
    /// </summary>
    public string Id { get; init; } = ClusterId;

    /// <summary>Checks a cluster name: 1 to 64 letters, digits, '-' and '_'.</summary>
    /// <exception cref="ArgumentException">Anything else; the message names the option.</exception>
    public static string CheckId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"--cluster-id was '{id}'; expected 1 to 64 letters, digits, '-' or '_'.");
        return id;
    }

    /// <summary>Reads <c>localhost</c>, <c>localhost:GATEWAY_PORT</c> or <c>redis://HOST:PORT</c>.</summary>
    /// <exception cref="ArgumentException">Anything else (the message says what is accepted).</exception>
    public static ClusterAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "localhost") return new ClusterAddress();
        if (text.StartsWith("localhost:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(10), out int port) && port is > 0 and < 65535)
            return new ClusterAddress(port == 11111 ? 11112 : 11111, port);
        if (text.StartsWith("redis://", StringComparison.Ordinal) && text[8..].Split(':') is [{ Length: > 0 } host, var p] && int.TryParse(p, out int redisPort)
            && redisPort is > 0 and < 65536)
            return new ClusterAddress(Redis: $"{host}:{redisPort}");
        throw new ArgumentException($"--cluster was '{text}'; expected localhost, localhost:GATEWAY_PORT or redis://HOST:PORT.");
    }

    /// <summary>The default cluster name (<see cref="Id"/>).</summary>
    public const string ClusterId = "hybrid";

    /// <summary>How a silo joins it.</summary>
    internal void Configure(Orleans.Hosting.ISiloBuilder silo, string advertise)
    {
        if (Redis is null)
        {
            silo.UseLocalhostClustering(SiloPort, GatewayPort);
            return;
        }
        var address = System.Net.IPAddress.Parse(advertise);
        silo.UseRedisClustering(Redis)
            .ConfigureEndpoints(address, SiloPort, GatewayPort, listenOnAnyHostAddress: !System.Net.IPAddress.IsLoopback(address))
            .Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (Id, Id));
    }

    /// <summary>How a client finds it.</summary>
    internal void Configure(Orleans.Hosting.IClientBuilder client)
    {
        if (Redis is null) client.UseLocalhostClustering(GatewayPort);
        else client.UseRedisClustering(Redis).Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (Id, Id));
    }

    /// <summary>Where it is, for messages.</summary>
    public override string ToString() => Redis is null ? $"localhost (gateway port {GatewayPort})"
        : $"the cluster{(Id == ClusterId ? "" : $" '{Id}'")} in Redis at {Redis}";
}

/// <summary>
/// IMPALA and Ape-X across processes on Orleans: the learner process hosts a silo whose one grain
/// (<see cref="ILearnerGrain"/>) takes actors' joins, parameter requests and trajectories; the learner loop is the
/// algorithm's own (IMPALA's <see cref="LaggedLearner"/> with V-trace over unrolls, or Ape-X's <see cref="ApexLearner"/>
/// over its central prioritized replay). Actor processes are Orleans clients running K actor threads each.
/// </summary>
public static class ClusterRuns
{
    /// <summary>The status of a learner's run stopped because no actor sent an unroll for its idle timeout.</summary>
    public const string NoActorsStatus = "no-actors";

    /// <summary>
    /// Hosts the learner for <paramref name="config"/> (IMPALA or Ape-X) at <paramref name="address"/>, starts
    /// <paramref name="localActors"/> actor processes of <paramref name="actorCommand"/> (one thread each), trains until
    /// the budget is spent or the run is solved, then tells the actors to stop. When no actor has sent anything for
    /// <paramref name="idleTimeout"/> (every actor died, or none came), the run stops with status
    /// <see cref="NoActorsStatus"/> and a checkpoint to resume from; null waits for actors for ever.
    /// </summary>
    /// <exception cref="ArgumentException">An algorithm the cluster does not run.</exception>
    public static RunSummary Learn(AlgoConfig config, RunContext run, ClusterAddress address, int localActors,
        Func<int, ProcessStartInfo>? actorCommand, Action<string> log, string advertise = "127.0.0.1", Training.Devices.IComputeDevice? device = null,
        TimeSpan? idleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config is IRecurrentConfig { Memory.Units: > 0 })
            throw new ArgumentException("recurrent was lstm; the cluster's unroll messages do not carry an LSTM's state, so a recurrent impala runs in one process: use train --algo impala --recurrent lstm.");
        device ??= Training.Devices.CpuDevice.Instance;
        var serving = new Serving(run, address, localActors, actorCommand, log, advertise, idleTimeout);
        switch (config)
        {
            case ImpalaConfig impala:
            {
                // Slots for at least 8 actors: how many will join is not known when the learner starts.
                using var learner = new LaggedLearner(impala, run, "impala", "cluster learner", impala.LearnerShape, Math.Max(impala.Threads, 8), device);
                var hub = new LearnerHub(impala, learner.Parameters.Spec, learner.Queues, learner.Published, learner.Parameters.Theta.Length, run, log);
                run.Metrics.Telemetry = hub;
                serving.Serve(hub, () =>
                {
                    var group = new WorkerGroup("cluster");
                    learner.Learn(group, version =>
                    {
                        if (version % impala.RefreshInterval == 0) learner.Published.Publish(learner.Parameters.Theta, version);
                        hub.CheckActors();
                    });
                    group.Join();
                });
                return learner.Finish(1, impala.Lanes.NumEnvs * Math.Max(1, hub.Actors), device.Info);
            }
            case ApexConfig or D4pgConfig:
            {
                UpdateRules.Begin(config, run);
                ICentralLearner learner = config is ApexConfig apex ? new ApexLearner(apex, run) : new D4pgActors((D4pgConfig)config, run);
                var hub = new LearnerHub(learner, run, log);
                run.Metrics.Telemetry = hub;
                serving.Serve(hub, () => learner.Train(_ => { }));
                return run.Finish(1, learner.Config.Lanes.NumEnvs * Math.Max(1, hub.Actors));
            }
            default:
                throw new ArgumentException($"the cluster learner runs {Trainer.Listed(Trainer.ClusterAlgorithms, "and")}; {config.Algo} runs with train.", nameof(config));
        }
    }

    /// <summary>What a learner process does around its algorithm's loop: the silo, the local actor processes, the watchdog for silent actors, and the goodbye.</summary>
    sealed record Serving(RunContext Run, ClusterAddress Address, int LocalActors, Func<int, ProcessStartInfo>? ActorCommand, Action<string> Log, string Advertise,
        TimeSpan? IdleTimeout)
    {
        /// <summary>Hosts <paramref name="hub"/>'s grain, starts the local actors and runs <paramref name="learn"/> until the run ends; then stops the actors and the silo and logs the actors' figures.</summary>
        public void Serve(LearnerHub hub, Action learn)
        {
            using IHost host = Host.CreateDefaultBuilder()
                .UseOrleans(silo => Address.Configure(silo, Advertise))
                .ConfigureServices(services => services.AddSingleton(hub))
                .ConfigureLogging(logging => logging.ClearProviders())
                .Build();
            try
            {
                host.StartAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new IOException($"the learner could not join {Address}: {e.Message.Split('\n')[0]}", e);
            }
            Log($"learner listening: {Address}" + (Address.Redis is null ? "" : $", advertised at {Advertise}, gateway port {Address.GatewayPort}"));
            var actors = new List<Process>();
            try
            {
                for (int i = 0; i < LocalActors && ActorCommand is not null; i++)
                    actors.Add(Process.Start(ActorCommand(i)) ?? throw new InvalidOperationException("an actor process did not start."));
                // The learner waits on the actors; a timer watches for actors that all went away.
                using var watchdog = new Timer(_ =>
                {
                    hub.CheckActors();
                    if (IdleTimeout is TimeSpan limit && hub.SinceLastUnroll > limit && !Run.Stop.Requested)
                    {
                        Log($"no actor has sent {hub.Trajectory} for {limit.TotalSeconds:G} s ({hub.Actors} joined, {hub.Connected} connected): stopping with a checkpoint to resume from.");
                        Run.Stop.Request(NoActorsStatus);
                    }
                }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
                learn();
            }
            finally
            {
                hub.Stop();
                foreach (Process actor in actors)
                {
                    if (!actor.WaitForExit(10_000)) actor.Kill(entireProcessTree: true);
                    actor.Dispose();
                }
                host.StopAsync().GetAwaiter().GetResult();
            }
            RuntimeTelemetry total = hub.Total(Run.Clock.Seconds);
            Log($"{hub.Actors} actors joined; mean act-to-learn latency {total.UnrollLatencyMs:F2} ms");
            foreach (ActorProcessRate p in total.ActorProcesses ?? [])
                Log($"actor process {p.Process} ({p.Threads} thread{(p.Threads == 1 ? "" : "s")}): {p.EnvSteps:N0} env steps, {p.StepsPerSecond:N0} steps/s while connected");
        }
    }

    /// <summary>How long an actor waits for the learner to answer before it decides the learner is gone.</summary>
    public static TimeSpan LearnerTimeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Joins the learner at <paramref name="address"/> with <paramref name="threads"/> actor threads and acts until it says
    /// the run is over; returns the exit code (0, or 1 when the learner could not be reached or went away). With a
    /// <paramref name="wait"/> above zero, a learner that cannot be reached or goes away is waited for that long (a learner
    /// resumed with --resume, or one not started yet), and the actors join it again when it answers. When
    /// <paramref name="stop"/> is cancelled (a signal) the threads finish their unroll, tell the learner they leave and
    /// the process returns 0 after saying so.
    /// </summary>
    public static int Act(ClusterAddress address, int threads, TimeSpan wait, TextWriter stdout, TextWriter stderr, CancellationToken stop = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        // Several actor processes write to one terminal or log: each line names its process.
        string me = $"actors (pid {Environment.ProcessId})";
        long steps = 0;
        var clock = Stopwatch.StartNew();
        var lost = Stopwatch.StartNew();
        while (true)
        {
            string? failure = ActWhileAnswered(address, threads, ref steps, out bool joined, out bool refused, stop);
            if (stop.IsCancellationRequested)
            {
                stdout.WriteLine(joined
                    ? $"{me}: stopped; {threads} thread{(threads == 1 ? "" : "s")} acted {Interlocked.Read(ref steps):N0} env steps and told the learner they left."
                    : $"{me}: stopped before joining a learner at {address}.");
                return 0;
            }
            if (failure is null) break;
            if (joined) lost.Restart();
            if (wait <= TimeSpan.Zero || lost.Elapsed >= wait || refused)
            {
                stderr.WriteLine($"{me}: {failure}; exiting.");
                return 1;
            }
            if (joined || lost.Elapsed < TimeSpan.FromSeconds(1))
                stderr.WriteLine($"{me}: {failure}; waiting up to {wait.TotalSeconds:F0} s for a learner at {address}.");
            stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
        }
        long acted = Interlocked.Read(ref steps);
        stdout.WriteLine($"{me}: the learner ended the run; {threads} thread{(threads == 1 ? "" : "s")} acted {acted:N0} env steps in {clock.Elapsed.TotalSeconds:F1} s ({acted / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):N0} steps/s).");
        return 0;
    }

    /// <summary>
    /// One connection to the learner: acts until it ends the run (null) or goes away or refuses (why, as a message).
    /// <paramref name="joined"/> says whether any thread joined it; <paramref name="refused"/> whether the learner refused
    /// this actor (waiting would not help).
    /// </summary>
    static string? ActWhileAnswered(ClusterAddress address, int threads, ref long steps, out bool joined, out bool refused, CancellationToken stop)
    {
        (joined, refused) = (false, false);
        using IHost host = Host.CreateDefaultBuilder()
            .UseOrleansClient(client =>
            {
                address.Configure(client);
                client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = LearnerTimeout);
            })
            .ConfigureLogging(logging => logging.ClearProviders())
            .Build();
        try
        {
            // Bounded: a Redis with no learner of this cluster id (none started, or another id) lists no gateway, and the
            // client would go on looking for one.
            using var connecting = CancellationTokenSource.CreateLinkedTokenSource(stop);
            connecting.CancelAfter(2 * LearnerTimeout);
            host.StartAsync(connecting.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e is OperationCanceledException
                ? $"no learner at {address} answered within {2 * LearnerTimeout.TotalSeconds:F0} s"
                : $"no learner at {address} ({e.Message.Split('\n')[0]})";
        }
        var grain = host.Services.GetRequiredService<IClusterClient>().GetGrain<ILearnerGrain>(0);
        var group = new WorkerGroup($"cluster actors (pid {Environment.ProcessId})");
        long acted = 0;
        int joins = 0;
        for (int k = 0; k < threads; k++)
            group.Start("actor", k, thread => Interlocked.Add(ref acted, Actor(grain, thread, group, () => Interlocked.Increment(ref joins), stop)));
        string? failure = null;
        try
        {
            group.Join();
        }
        catch (WorkerFailedException e)
        {
            Exception inner = e.InnerException ?? e;
            refused = inner is RefusedException;
            failure = refused ? inner.Message
                : LearnerGone(inner) ? $"{e.Worker}: the learner at {address} stopped answering within {LearnerTimeout.TotalSeconds:F0} s"
                : $"{e.Worker}: {inner.Message}";
        }
        finally
        {
            try
            {
                host.StopAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The learner is gone; there is nothing to say goodbye to.
            }
        }
        steps += Interlocked.Read(ref acted);
        joined = Volatile.Read(ref joins) > 0;
        return failure;
    }

    /// <summary>Whether <paramref name="e"/> says the learner cannot be reached (rather than that it refused what was sent).</summary>
    static bool LearnerGone(Exception e) =>
        e is TimeoutException or System.Net.Sockets.SocketException || e.GetType().Namespace?.StartsWith("Orleans", StringComparison.Ordinal) == true;

    /// <summary>The learner refused this actor (another Hybrid version or model): waiting does not help.</summary>
    sealed class RefusedException(string message) : Exception(message);

    /// <summary>One actor thread: joins, then acts unroll by unroll with the newest parameters until told to stop; returns its env steps.</summary>
    static long Actor(ILearnerGrain grain, int thread, WorkerGroup group, Action joined, CancellationToken stop)
    {
        JoinReply join = grain.Join(new JoinRequest
        {
            Actor = $"{Environment.MachineName} pid {Environment.ProcessId} thread {thread}", Process = $"{Environment.MachineName}:{Environment.ProcessId}",
            Version = SummaryBuilder.HybridVersion,
        })
            .GetAwaiter().GetResult();
        if (!join.Accepted) throw new RefusedException($"the learner refused this actor: {join.Message}");
        joined();
        var settings = ConfigBinder.ParseRun(join.Config, "the learner's config", out string algo);
        AlgoConfig config = ConfigBinder.Apply(Trainer.DefaultConfig(algo), settings);
        ModelSpec model = Acting.PolicySpec(config);
        if (model.ToString() != join.Model)
        {
            string why = $"the learner trains '{join.Model}'; this actor's build makes '{model}' for the run's config";
            grain.Leave(join.ActorId, why).GetAwaiter().GetResult();
            throw new RefusedException(why + ".");
        }
        if (config is D4pgConfig d4pg)
            return D4pgActors.RunActor(d4pg, model, join.ActorId, join.Segment, join.Theta, join.ParameterVersion,
                new GrainTransitionSink(grain, join.ActorId, join.ParameterVersion, group, stop));
        if (config is ApexConfig apex)
        {
            // The epsilon ladder's rungs go round: actor i takes rung i mod threads (the run's threads setting is the ladder's length).
            float epsilon = apex.ActorEpsilon(join.ActorId % apex.Threads);
            return ApexActor.Run(apex, model, join.ActorId, join.Segment, epsilon, join.Theta, join.ParameterVersion,
                new GrainTransitionSink(grain, join.ActorId, join.ParameterVersion, group, stop));
        }
        var impala = (ImpalaConfig)config;
        var policy = new LocalCopyPolicy(model, impala.Gamma, impala.Lanes.NumEnvs, null, join.Theta, join.ParameterVersion);
        return UnrollActor.Run(join.ActorId, impala, impala.Lanes.NumEnvs, join.Segment, policy, new GrainSink(grain, join.ActorId, policy, impala, group, stop));
    }

    /// <summary>
    /// A cluster Ape-X actor's way to the learner: its steps and episodes go with its next transition batch, which the
    /// learner answers once the batch is in its replay (or with the end of the run); parameters come on request.
    /// </summary>
    sealed class GrainTransitionSink(ILearnerGrain grain, int actorId, long version, WorkerGroup group, CancellationToken stop) : ITransitionSink
    {
        readonly List<EpisodeRecord> _episodes = [];
        int _steps;
        long _version = version;
        bool _over;

        public bool Stopping
        {
            get
            {
                if (!_over && stop.IsCancellationRequested)
                {
                    _over = true;
                    grain.Leave(actorId, "stopped by its user").GetAwaiter().GetResult();
                }
                return _over || group.StopRequested;
            }
        }

        public void Acted(int envSteps, ReadOnlySpan<EpisodeRecord> episodes)
        {
            _steps += envSteps;
            foreach (EpisodeRecord e in episodes) _episodes.Add(e);
        }

        public bool Send(TransitionBatch batch)
        {
            SubmitReply reply = grain.SubmitTransitions(TransitionMessage.Of(actorId, _version, batch, _steps, _episodes)).GetAwaiter().GetResult();
            (_steps, _over) = (0, reply.Stop);
            _episodes.Clear();
            return !_over;
        }

        public long Fetch(float[] theta, long held)
        {
            SubmitReply reply = grain.Parameters(actorId, held).GetAwaiter().GetResult();
            _over |= reply.Stop;
            if (reply.Theta.Length != theta.Length) return held;
            reply.Theta.CopyTo(theta, 0);
            return _version = reply.ParameterVersion;
        }
    }

    /// <summary>
    /// A cluster actor's unrolls: one of its own, sent to the learner grain with the episodes that ended in it; the
    /// reply brings newer parameters (into <paramref name="policy"/>) or the end of the run.
    /// </summary>
    sealed class GrainSink(ILearnerGrain grain, int actorId, LocalCopyPolicy policy, ImpalaConfig config, WorkerGroup group, CancellationToken stop) : IUnrollSink
    {
        readonly Unroll _unroll = new(config.TMax, config.Lanes.NumEnvs, EnvRegistry.Spec(config.Env));
        readonly List<EpisodeRecord> _episodes = [];

        public bool Stopping => group.StopRequested;

        public bool Take(out Unroll unroll)
        {
            unroll = _unroll;
            if (stop.IsCancellationRequested)
            {
                grain.Leave(actorId, "stopped by its user").GetAwaiter().GetResult();
                return false;
            }
            _episodes.Clear();
            return true;
        }

        public void Return(Unroll unroll) { }

        public void AddEpisodes(ReadOnlySpan<EpisodeRecord> episodes)
        {
            foreach (EpisodeRecord e in episodes) _episodes.Add(e);
        }

        public bool Submit(Unroll unroll, long envSteps)
        {
            // One round trip per unroll: the reply brings newer parameters when the learner has published some.
            SubmitReply reply = grain.Submit(UnrollMessage.Of(actorId, unroll, _episodes)).GetAwaiter().GetResult();
            if (reply.Stop) return false;
            if (reply.Theta.Length == policy.ParameterCount) policy.Set(reply.Theta, reply.ParameterVersion);
            return true;
        }
    }
}
