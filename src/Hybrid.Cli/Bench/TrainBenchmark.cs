using System.CommandLine;
using System.Globalization;
using System.Text;
using Hybrid.Cli.Train;
using Hybrid.Gpu;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Cli.Bench;

/// <summary>
/// <c>hybrid bench train</c>: trains an algorithm on seeds 1..S, each run stopping when solved (or at its budget), and
/// reports per run and as medians: env steps and seconds to solve, and env steps per second. With several thread
/// counts (<c>--threads 1,2</c>) every count runs the same seeds and the table gives each count's steps/s against the
/// first count's, measured in the same invocation, the counts taking turns seed by seed. A short warm-up run first lets the JIT compile the training loop.
/// </summary>
public static class TrainBenchmark
{
    /// <summary>One training run.</summary>
    public sealed record Run(int Threads, RunSummary Summary);

    /// <summary>Medians over the seeds of one thread count (times and steps to solve over the solved runs only).</summary>
    public sealed record Group(int Threads, int Runs, int Solved, double MedianSecondsToSolve, double MedianStepsToSolve, double MedianStepsPerSecond);

    const long WarmupSteps = 20_000;

    /// <summary>The env setting the options give: --env over the config file's env; CartPole-v1 where neither names one.</summary>
    internal static List<(string Key, string Value, string Source)> EnvOverride(string? env, string? configFile) =>
        env is not null ? [("env", env, "--env")] : configFile is null ? [("env", "CartPole-v1", "the default")] : [];

    internal static Command BuildCommand()
    {
        var algo = new Option<string>("--algo") { Description = $"Algorithm: {string.Join(", ", Trainer.Algorithms)}.", DefaultValueFactory = _ => "a2c" };
        var env = new Option<string?>("--env") { Description = "Environment id (default: the --config file's, else CartPole-v1)." };
        var seeds = new Option<int>("--seeds") { Description = "Runs, on seeds 1..S.", DefaultValueFactory = _ => 5 };
        var threads = new Option<string>("--threads") { Description = "Thread counts to compare, comma-separated (e.g. 1,2); default: the algorithm's." };
        var config = new Option<string>("--config") { Description = "A YAML file of settings, as for train." };
        var budget = new Option<long?>("--max-env-steps") { Description = "Budget per run (default: the algorithm's)." };
        var full = new Option<bool>("--full-budget") { Description = "Run every seed to its budget instead of stopping when solved (steady steps/s)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of a table." };
        var device = new Option<string>("--device")
        {
            Description = "a2c, ga3c, impala, hybrid: where the device work runs (auto, cpu, cuda, ilgpu-cpu), as train's --device; kernels compile once, before the runs, and their time is reported apart. Default: the config's (auto).",
        };
        seeds.AtLeastOne();
        var command = new Command("train", "Time to solve and env steps/s of an algorithm over several seeds (and thread counts).")
        {
            algo, env, seeds, threads, config, budget, full, json, device,
        };
        command.SetAction(parse =>
        {
            try
            {
                int[] counts = ParseThreads(parse.GetValue(threads));
                List<(string, string, string)> overrides = EnvOverride(parse.GetValue(env), parse.GetValue(config));
                if (parse.GetValue(budget) is long b) overrides.Add(("max_env_steps", b.ToString(CultureInfo.InvariantCulture), "--max-env-steps"));
                if (parse.GetValue(device) is string d) overrides.Add(("device", d, "--device"));
                AlgoConfig baseConfig = TrainCommand.Resolve(parse.GetValue(algo)!, parse.GetValue(config), overrides, usePreset: true, out string? preset);
                if (preset is not null && !parse.GetValue(json)) Console.Error.WriteLine($"bench train: preset {preset}");
                bool stopWhenSolved = !parse.GetValue(full);
                IComputeDevice? onDevice = DeviceChoice.For(GpuDevices.Instance, baseConfig, Console.Error.WriteLine);
                if (!parse.GetValue(json))
                    Console.Error.WriteLine($"bench train: {baseConfig.Algo} on {baseConfig.Env}, {parse.GetValue(seeds)} seeds: a warm-up run, then the timed runs...");
                // Ctrl-C or SIGTERM (or a time limit's SIGINT): a benchmark keeps no files, so it prints what it measured so
                // far at once (the finished runs, and the steps and seconds of the run in progress) and exits.
                var stop = new StopBox();
                bool asJson = parse.GetValue(json);
                using var signals = new StopSignals(number =>
                {
                    string report;
                    try
                    {
                        report = Interrupted(baseConfig, stop, asJson);
                    }
                    catch (Exception e)
                    {
                        // The report must come out whatever the run was doing when the signal came.
                        report = asJson ? $"{{\"bench\":\"train\",\"interrupted\":true,\"error\":\"{e.GetType().Name}\"}}" : $"bench train: stopped ({e.Message})";
                    }
                    using (Stream stdout = Console.OpenStandardOutput())
                    {
                        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(report + "\n");
                        stdout.Write(bytes);
                        stdout.Flush();
                    }
                    Environment.Exit(128 + number);
                });
                List<Run> runs = Measure(baseConfig, counts, parse.GetValue(seeds), stopWhenSolved,
                    asJson ? null : r => Console.Error.WriteLine(FormatRun(r)), onDevice, stop);
                double? compile = (onDevice as IlgpuComputeDevice)?.CompileSeconds;
                Console.WriteLine(asJson ? ToJson(baseConfig, runs, onDevice, compile) : ToTable(baseConfig, runs, stopWhenSolved, onDevice, compile));
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IOException)
            {
                Console.Error.WriteLine($"bench train: {ErrorText.Of(e)}");
                return 2;
            }
        });
        return command;
    }

    static int[] ParseThreads(string? text)
    {
        if (text is null) return [];
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var counts = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out counts[i]) || counts[i] < 1)
                throw new ArgumentException($"--threads '{text}' is not a comma-separated list of whole numbers >= 1.");
        return counts;
    }

    /// <summary>
    /// Runs seeds 1..<paramref name="seeds"/> at each thread count (none given: the config's), after one warm-up run;
    /// A2C on <paramref name="device"/> when given (the CPU otherwise).
    /// </summary>
    public static List<Run> Measure(AlgoConfig config, int[] threadCounts, int seeds, bool stopWhenSolved, Action<Run>? progress = null,
        IComputeDevice? device = null, StopBox? stop = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (threadCounts.Length == 0) threadCounts = [config.Threads];
        stop ??= new StopBox();
        // The warm-up runs at least one update, whatever the lane count.
        long warmup = Math.Min(Math.Max(WarmupSteps, config.TotalEnvs * 64L), config.MaxEnvSteps);
        AlgoConfig warm = config with { MaxEnvSteps = warmup, Seed = 1_000_000 };
        Trainer.Train(warm, stop.Watch(new RunContext(warm, null, null), warm.Seed, warm.Threads, warmup: true), device);
        var runs = new List<Run>();
        // Seeds outside, thread counts inside: the machine's speed drifts, and alternating the counts spreads the drift
        // over all of them instead of handing it to whichever ran last.
        for (int seed = 1; seed <= seeds; seed++)
            foreach (int threads in threadCounts)
            {
                AlgoConfig run = config with { Threads = threads, Seed = seed, StopWhenSolved = stopWhenSolved };
                var result = new Run(threads, Trainer.Train(run, stop.Watch(new RunContext(run, null, null), seed, threads, warmup: false), device));
                runs.Add(result);
                stop.Done(result);
                progress?.Invoke(result);
            }
        return runs;
    }

    /// <summary>What a benchmark has done so far, for a signal to report from another thread: the finished runs and the one in progress.</summary>
    public sealed class StopBox
    {
        readonly Lock _gate = new();
        readonly List<Run> _done = [];
        RunContext? _current;
        int _seed, _threads;
        bool _warmup;

        /// <summary>Marks <paramref name="run"/> as the run in progress; returns it.</summary>
        public RunContext Watch(RunContext run, int seed, int threads, bool warmup)
        {
            lock (_gate) (_current, _seed, _threads, _warmup) = (run, seed, threads, warmup);
            return run;
        }

        /// <summary>Records a finished run.</summary>
        public void Done(Run run)
        {
            lock (_gate)
            {
                _done.Add(run);
                _current = null;
            }
        }

        /// <summary>The finished runs, and the run in progress (its seed, threads, whether it is the warm-up, env steps and seconds so far) if any.</summary>
        public (Run[] Done, (int Seed, int Threads, bool Warmup, long EnvSteps, double Seconds)? Current) Snapshot()
        {
            lock (_gate)
                return ([.. _done], _current is { } m ? (_seed, _threads, _warmup, m.Metrics.EnvSteps, m.Clock.Seconds) : null);
        }
    }

    /// <summary>What a stopped benchmark prints: each finished run and the one in progress, as JSON or as lines.</summary>
    internal static string Interrupted(AlgoConfig config, StopBox stop, bool json)
    {
        (Run[] done, var current) = stop.Snapshot();
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        if (!json)
        {
            text.Append(inv, $"bench train: stopped; {done.Length} run(s) finished");
            foreach (Run r in done) text.Append('\n').Append(FormatRun(r));
            if (current is { } c)
                text.Append(inv, $"\n  {(c.Warmup ? "warm-up" : $"threads {c.Threads}, seed {c.Seed}")}: stopped at {c.EnvSteps:N0} steps after {c.Seconds:F2} s");
            return text.ToString();
        }
        text.Append(inv, $"{{\"bench\":\"train\",\"algo\":\"{config.Algo}\",\"env\":\"{config.Env}\",\"num_envs\":{config.TotalEnvs},\"interrupted\":true,\"runs\":[");
        for (int i = 0; i < done.Length; i++)
        {
            RunSummary r = done[i].Summary;
            text.Append(inv,
                $"{(i > 0 ? "," : "")}{{\"seed\":{r.Seed},\"threads\":{done[i].Threads},\"status\":\"{r.Status}\",\"env_steps\":{r.EnvSteps},\"seconds\":{r.WallSeconds:0.###},\"solved\":{(r.Solved ? "true" : "false")},\"seconds_to_solve\":{(r.SolvedAtSeconds is double t ? t.ToString("0.###", inv) : "null")},\"steps_per_second\":{Number(r.StepsPerSecond, "0")}}}");
        }
        text.Append("],\"in_progress\":");
        if (current is { } p)
            text.Append(inv, $"{{\"seed\":{p.Seed},\"threads\":{p.Threads},\"warmup\":{(p.Warmup ? "true" : "false")},\"env_steps\":{p.EnvSteps},\"seconds\":{p.Seconds:0.###}}}");
        else text.Append("null");
        return text.Append('}').ToString();
    }

    /// <summary>The medians of each thread count, in the order measured.</summary>
    public static List<Group> Summarize(List<Run> runs)
    {
        var groups = new List<Group>();
        foreach (int threads in runs.Select(r => r.Threads).Distinct())
        {
            RunSummary[] all = runs.Where(r => r.Threads == threads).Select(r => r.Summary).ToArray();
            RunSummary[] solved = all.Where(s => s.Solved).ToArray();
            groups.Add(new Group(threads, all.Length, solved.Length,
                solved.Length == 0 ? double.NaN : BenchReport.Median(solved.Select(s => s.SolvedAtSeconds!.Value).ToArray()),
                solved.Length == 0 ? double.NaN : BenchReport.Median(solved.Select(s => (double)s.SolvedAtEnvSteps!.Value).ToArray()),
                BenchReport.Median(all.Select(s => s.StepsPerSecond).ToArray())));
        }
        return groups;
    }

    static string FormatRun(Run r) => string.Create(CultureInfo.InvariantCulture,
        $"  threads {r.Threads}, seed {r.Summary.Seed}: {(r.Summary.Solved ? $"solved at {r.Summary.SolvedAtEnvSteps:N0} steps, {r.Summary.SolvedAtSeconds:F2} s" : $"not solved (final mean {r.Summary.FinalMeanReturn:F1})")}, {r.Summary.StepsPerSecond:N0} steps/s");

    static string ToTable(AlgoConfig config, List<Run> runs, bool stopWhenSolved, IComputeDevice? device, double? compileSeconds)
    {
        List<Group> groups = Summarize(runs);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"bench train: {config.Algo} on {config.Env}, seeds 1..{groups[0].Runs}, budget {config.MaxEnvSteps:N0} steps, {(stopWhenSolved ? "stopping when solved" : "full budget")} ({config.SolveCriterion})\n");
        if (device is not null)
            text.Append(CultureInfo.InvariantCulture, $"device {device.Info.Kind} ({device.Info.Name}), {config.TotalEnvs:N0} lanes{(compileSeconds is double c ? $"; kernels compiled in {c:F2} s, before the timed runs" : "")}\n");
        text.Append(CultureInfo.InvariantCulture, $"{"threads",7} {"solved",7} {"median s to solve",18} {"median steps to solve",22} {"median steps/s",15} {"vs first",9}\n");
        foreach (Group g in groups)
            text.Append(CultureInfo.InvariantCulture,
                $"{g.Threads,7} {$"{g.Solved}/{g.Runs}",7} {g.MedianSecondsToSolve,18:F2} {g.MedianStepsToSolve,22:N0} {g.MedianStepsPerSecond,15:N0} {g.MedianStepsPerSecond / groups[0].MedianStepsPerSecond,8:F2}x\n");
        if (config.Algo == "a2c" && config.Env == "CartPole-v1")
            text.Append("For scale, Stable-Baselines3 2.3.2 A2C (rl-zoo settings, torch 1.13.1) on Hybrid's 2-core development machine (2026-11-21): 17-24 s to solve CartPole-v1, median 21.4 s.\n");
        return text.ToString().TrimEnd();
    }

    static string ToJson(AlgoConfig config, List<Run> runs, IComputeDevice? device, double? compileSeconds)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{{\"bench\":\"train\",\"algo\":\"{config.Algo}\",\"env\":\"{config.Env}\",\"num_envs\":{config.TotalEnvs},");
        text.Append(CultureInfo.InvariantCulture, $"\"device\":\"{device?.Info.Kind ?? "cpu"}\",\"compile_seconds\":{(compileSeconds is double c ? c.ToString("0.###", CultureInfo.InvariantCulture) : "null")},\"groups\":[");
        List<Group> groups = Summarize(runs);
        for (int i = 0; i < groups.Count; i++)
        {
            Group g = groups[i];
            if (i > 0) text.Append(',');
            text.Append(CultureInfo.InvariantCulture,
                $"{{\"threads\":{g.Threads},\"runs\":{g.Runs},\"solved\":{g.Solved},\"median_seconds_to_solve\":{Number(g.MedianSecondsToSolve, "0.###")},\"median_steps_to_solve\":{Number(g.MedianStepsToSolve, "0")},\"median_steps_per_second\":{Number(g.MedianStepsPerSecond, "0")}}}");
        }
        return text.Append("]}").ToString();
    }

    static string Number(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "null";
}
