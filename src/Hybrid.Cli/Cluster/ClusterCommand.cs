using System.CommandLine;
using System.Diagnostics;
using Hybrid.Cli.Bench;
using Hybrid.Cli.Train;
using Hybrid.Cluster;
using Hybrid.Experiments;
using Hybrid.Gpu;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Runs;

namespace Hybrid.Cli.Cluster;

/// <summary>
/// <c>hybrid cluster learner --cluster localhost [--algo impala|apex] [--local-actors N] [train's options]</c> hosts
/// IMPALA's or Ape-X's learner on Orleans and writes the run folder as train does; <c>hybrid cluster actors --cluster
/// localhost --threads K</c> joins it with K actor threads of the learner's algorithm.
/// </summary>
public static class ClusterCommand
{
    internal static Command Build()
    {
        var cluster = new Command("cluster", "IMPALA or Ape-X across processes on Orleans: one learner process, actor processes that join it (on this machine, or on others through Redis).");
        cluster.Subcommands.Add(BuildLearner());
        cluster.Subcommands.Add(BuildActors());
        return cluster;
    }

    static Option<string> ClusterOption() => new("--cluster")
    {
        Description = "Where the cluster is: localhost (this machine, gateway port 30000), localhost:PORT, or redis://HOST:PORT (the Redis server holding the membership of a cluster across machines).",
        DefaultValueFactory = _ => "localhost",
    };

    static Option<string> ClusterIdOption() => new("--cluster-id")
    {
        Description = $"With redis://: the cluster's name; actors join only a learner of the same name, so two runs can share one Redis (default {ClusterAddress.ClusterId}).",
        DefaultValueFactory = _ => ClusterAddress.ClusterId,
    };

    static Command BuildLearner()
    {
        var address = ClusterOption();
        var clusterId = ClusterIdOption();
        var algo = new Option<string>("--algo")
        {
            Description = $"The algorithm: {Trainer.Listed(Trainer.ClusterAlgorithms, "or")} (its actors send unrolls to IMPALA's V-trace learner, or transitions to Ape-X's or D4PG's central replay).",
            DefaultValueFactory = _ => "impala",
        };
        algo.AcceptOnlyFromAmong([.. Trainer.ClusterAlgorithms]);
        var localActors = new Option<int>("--local-actors") { Description = "Actor processes (one actor thread each) to start on this machine beside the learner.", DefaultValueFactory = _ => 0 };
        var config = new Option<string>("--config") { Description = "A YAML file of settings, as for train." };
        var output = new Option<string>("--out") { Description = "Run folder to create, as for train." };
        output.NotBlank("a folder path");
        var quiet = new Option<bool>("--quiet") { Description = "No progress lines." };
        var resume = new Option<string>("--resume") { Description = "Continue the run in this folder from its checkpoint (a cluster learner that was stopped or killed, or an impala run made by train); its budget may be raised with --max-env-steps." };
        var advertise = new Option<string>("--advertise") { Description = "With redis://: the IP address actors on other machines reach this learner at (default 127.0.0.1: this machine only).", DefaultValueFactory = _ => "127.0.0.1" };
        var idle = new Option<double>("--idle-timeout")
        {
            Description = $"Seconds without an unroll from any actor (all died, or none came) after which the learner stops with a checkpoint to resume from; 0 waits for ever.",
            DefaultValueFactory = _ => DefaultIdleSeconds,
        };
        var command = new Command("learner", "Host IMPALA's learner (V-trace over the actors' unrolls) or Ape-X's (its prioritized replay fed by the actors) and write the run folder as train does.")
        {
            address, clusterId, algo, localActors, config, output, quiet, advertise, resume, idle,
        };
        List<(ConfigKey Key, Option Option)> settings = TrainCommand.AddSettings(command);
        command.SetAction(parse =>
        {
            if (parse.GetValue(resume) is { } folder && parse.GetValue(output) is not null)
            {
                Console.Error.WriteLine("cluster learner: --resume continues the run in its own folder; --out does not apply.");
                return 2;
            }
            if (parse.GetValue(resume) is not null && parse.GetResult(algo) is { Implicit: false })
            {
                Console.Error.WriteLine("cluster learner: --resume continues the run with its own algorithm; --algo does not apply.");
                return 2;
            }
            return Learner(parse.GetValue(address)!, parse.GetValue(algo)!, parse.GetValue(localActors), parse.GetValue(config), TrainCommand.Overrides(parse, settings),
                parse.GetValue(output), parse.GetValue(quiet), Console.Out, Console.Error, parse.GetValue(advertise)!, parse.GetValue(resume), parse.GetValue(idle), parse.GetValue(clusterId)!);
        });
        return command;
    }

    static Command BuildActors()
    {
        var address = ClusterOption();
        var clusterId = ClusterIdOption();
        var threads = new Option<int>("--threads") { Description = "Actor threads in this process.", DefaultValueFactory = _ => 1 }.AtLeastOne();
        var wait = new Option<double>("--wait")
        {
            Description = "Seconds to wait for a learner that cannot be reached or goes away (not started yet, or being resumed with --resume) before exiting; the actors join it again when it answers. 0: exit at once.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("actors", "Join a learner with actor threads; they act until the learner ends the run.") { address, clusterId, threads, wait };
        command.SetAction(parse => Actors(parse.GetValue(address)!, parse.GetValue(threads), parse.GetValue(wait), Console.Out, Console.Error, parse.GetValue(clusterId)!));
        return command;
    }

    internal static int Learner(string cluster, string algo, int localActors, string? configFile, List<(string Key, string Value, string Source)> overrides, string? output, bool quiet,
        TextWriter stdout, TextWriter stderr, string advertise = "127.0.0.1", string? resume = null, double idleSeconds = DefaultIdleSeconds,
        string clusterId = ClusterAddress.ClusterId)
    {
        AlgoConfig? config = null;
        IComputeDevice? device = null;
        ClusterAddress address;
        try
        {
            address = ClusterAddress.Parse(cluster) with { Id = ClusterAddress.CheckId(clusterId) };
            if (localActors < 0) throw new ArgumentException($"--local-actors was {localActors}; expected >= 0.");
            if (!System.Net.IPAddress.TryParse(advertise, out _)) throw new ArgumentException($"--advertise was '{advertise}'; expected an IP address.");
            if (!double.IsFinite(idleSeconds) || idleSeconds < 0) throw new ArgumentException($"--idle-timeout was {idleSeconds}; expected seconds >= 0 (0: wait for ever).");
            // A resumed run's config comes from its checkpoint (train's resume reads and checks it).
            if (resume is null)
            {
                config = TrainCommand.Resolve(algo, configFile, overrides, usePreset: true, out _);
                device = DeviceChoice.For(GpuDevices.Instance, config, line => stderr.WriteLine($"cluster learner: {line}"));
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            stderr.WriteLine($"cluster learner: {ErrorText.Of(e)}");
            return 2;
        }
        var runner = new TrainCommand.Runner("cluster learner", $"{Invocation.Name} cluster learner --cluster {cluster} --resume",
            (config, run, learnOn) => ClusterRuns.Learn(config, run, address, localActors, _ => ActorProcess(cluster, address.Id),
                line => stderr.WriteLine($"cluster learner: {line}"), advertise, learnOn, idleSeconds > 0 ? TimeSpan.FromSeconds(idleSeconds) : null),
            Trainer.ClusterAlgorithms);
        return config is not null
            ? TrainCommand.Execute(config, device, output, quiet, stdout, stderr, runner)
            : TrainCommand.Resume(resume!, null, configFile, overrides, quiet, stdout, stderr, runner);
    }

    /// <summary>How long a learner waits without an unroll before it stops, by default: long enough for actors on other machines to be restarted.</summary>
    public const double DefaultIdleSeconds = 300;

    internal static int Actors(string cluster, int threads, double wait, TextWriter stdout, TextWriter stderr, string clusterId = ClusterAddress.ClusterId)
    {
        ClusterAddress address;
        try
        {
            address = ClusterAddress.Parse(cluster) with { Id = ClusterAddress.CheckId(clusterId) };
            if (!double.IsFinite(wait) || wait < 0) throw new ArgumentException($"--wait was {wait}; expected seconds >= 0.");
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"cluster actors: {ErrorText.Of(e)}");
            return 2;
        }
        // Ctrl-C or SIGTERM: each thread finishes its unroll and tells the learner it leaves; a second Ctrl-C quits at once.
        using var stopping = new CancellationTokenSource();
        using var signals = new StopSignals(_ =>
        {
            stderr.WriteLine("cluster actors: leaving after this unroll (a second Ctrl-C quits at once)");
            stopping.Cancel();
        });
        int code = ClusterRuns.Act(address, threads, TimeSpan.FromSeconds(wait), stdout, stderr, stopping.Token);
        return signals.Signal != 0 ? 128 + signals.Signal : code;
    }

    /// <summary>
    /// A compare arm's run across processes on this machine: the learner here on free ports, <paramref name="actors"/>
    /// actor processes, and the cluster's lines in the run folder's cluster.log.
    /// </summary>
    internal static Hybrid.Training.Metrics.RunSummary LocalRun(AlgoConfig config, Hybrid.Training.Runs.RunContext run, IComputeDevice? device, int actors,
        string folder)
    {
        var address = new ClusterAddress(FreePort(), FreePort());
        using var log = new StreamWriter(Path.Combine(folder, "cluster.log"), append: true) { AutoFlush = true };
        Hybrid.Training.Metrics.RunSummary summary = ClusterRuns.Learn(config, run, address, actors, _ => ActorProcess($"localhost:{address.GatewayPort}"),
            line => { lock (log) log.WriteLine(line); }, device: device, idleTimeout: TimeSpan.FromSeconds(DefaultIdleSeconds));
        if (summary.Status == ClusterRuns.NoActorsStatus)
            throw new IOException($"the actor processes of {folder} stopped sending unrolls for {DefaultIdleSeconds:G} s (cluster.log says why); the run keeps its checkpoint.");
        return summary;
    }

    /// <summary>A TCP port free on the loopback now.</summary>
    internal static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>This program again, as <c>cluster actors</c> with one thread: the same executable, or dotnet and the same assembly.</summary>
    static ProcessStartInfo ActorProcess(string cluster, string clusterId = ClusterAddress.ClusterId)
    {
        string self = Environment.ProcessPath ?? "dotnet";
        bool viaDotnet = Path.GetFileNameWithoutExtension(self) == "dotnet";
        var start = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = false };
        // Run with dotnet: the CLI's assembly beside this one (a single-file build is its own executable instead).
        if (viaDotnet) start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, typeof(ClusterCommand).Assembly.GetName().Name + ".dll"));
        foreach (string a in new[] { "cluster", "actors", "--cluster", cluster, "--cluster-id", clusterId, "--threads", "1" }) start.ArgumentList.Add(a);
        return start;
    }
}
