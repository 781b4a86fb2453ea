using System.CommandLine;
using Hybrid.Cli.Bench;
using Hybrid.Cli.Cluster;
using Hybrid.Cli.Compare;
using Hybrid.Cli.Device;
using Hybrid.Cli.Envs;
using Hybrid.Cli.Eval;
using Hybrid.Cli.Speedup;
using Hybrid.Cli.Train;

namespace Hybrid.Cli;

/// <summary>The <c>hybrid</c> command line.</summary>
public static class Program
{
    /// <summary>Entry point; with no arguments, prints help.</summary>
    public static int Main(string[] args)
    {
        RootCommand root = BuildRoot();
        return Invoke(root.Parse(args.Length == 0 ? ["--help"] : args), Console.Error);
    }

    /// <summary>
    /// Runs a parsed command line. A line that does not parse (an unknown option, a value out of range) gets one line
    /// per error naming the command and where its help is, and exit code 2, instead of the whole help text.
    /// </summary>
    public static int Invoke(ParseResult parse, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.Errors.Count == 0) return parse.Invoke();
        string command = string.Join(' ', parse.CommandResult.Command.Name == parse.RootCommandResult.Command.Name
            ? ["hybrid"] : ["hybrid", .. CommandPath(parse.CommandResult)]);
        foreach (var e in parse.Errors) error.WriteLine($"{command}: {e.Message}");
        error.WriteLine($"see '{command} --help'.");
        return 2;
    }

    static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is System.CommandLine.Parsing.CommandResult c && c.Parent is not null; r = r.Parent)
            names.Insert(0, c.Command.Name);
        return names;
    }

    /// <summary>The command tree (public so tests can parse against it).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Hybrid: reinforcement learning in five regimes (sync A2C; async A3C and asynchronous Q methods; " +
            "IMPALA-style lagged actors; GA3C batched inference; the hybrid regime, a synchronous stream and async workers " +
            "on one parameter set) and DQN from a replay buffer, on the same hardware, with its own CPU kernels and ILGPU kernels for a GPU.");
        var bench = new Command("bench", "Run a benchmark and print its table (or one JSON line with --json).");
        bench.Subcommands.Add(NnBenchmark.BuildCommand());
        bench.Subcommands.Add(EnvBenchmark.BuildCommand());
        bench.Subcommands.Add(TrainBenchmark.BuildCommand());
        bench.Subcommands.Add(ReplayBenchmark.BuildCommand());
        root.Subcommands.Add(bench);
        root.Subcommands.Add(CompareCommand.Build());
        root.Subcommands.Add(SpeedupCommand.Build());
        root.Subcommands.Add(TrainCommand.Build());
        root.Subcommands.Add(EvalCommand.Build());
        root.Subcommands.Add(ClusterCommand.Build());
        root.Subcommands.Add(EnvCheckCommand.Build());
        root.Subcommands.Add(DeviceCheckCommand.Build());
        root.Subcommands.Add(RenderCommand.Build());
        return root;
    }
}
