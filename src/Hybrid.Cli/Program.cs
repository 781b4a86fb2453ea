using System.CommandLine;
using Hybrid.Cli.Bench;
using Hybrid.Cli.Compare;
using Hybrid.Cli.Device;
using Hybrid.Cli.Envs;
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
        return root.Parse(args.Length == 0 ? ["--help"] : args).Invoke();
    }

    /// <summary>The command tree (public so tests can parse against it).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Hybrid: reinforcement learning in three regimes (sync A2C, async A3C and asynchronous Q methods, " +
            "IMPALA-style lagged actors) on the same hardware, with its own CPU kernels and ILGPU kernels for a GPU.");
        var bench = new Command("bench", "Run a benchmark and print its table (or one JSON line with --json).");
        bench.Subcommands.Add(NnBenchmark.BuildCommand());
        bench.Subcommands.Add(EnvBenchmark.BuildCommand());
        bench.Subcommands.Add(TrainBenchmark.BuildCommand());
        root.Subcommands.Add(bench);
        root.Subcommands.Add(CompareCommand.Build());
        root.Subcommands.Add(SpeedupCommand.Build());
        root.Subcommands.Add(TrainCommand.Build());
        root.Subcommands.Add(EnvCheckCommand.Build());
        root.Subcommands.Add(DeviceCheckCommand.Build());
        root.Subcommands.Add(RenderCommand.Build());
        return root;
    }
}
