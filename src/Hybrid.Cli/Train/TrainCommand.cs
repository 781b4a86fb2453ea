using System.CommandLine;
using System.Globalization;
using Hybrid.Gpu;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;

namespace Hybrid.Cli.Train;

/// <summary>
/// <c>hybrid train --algo NAME</c>: resolves the config (the algorithm's defaults, then <c>--config FILE.yaml</c>, then
/// options), trains, and writes the run folder. Every setting of every algorithm is an option, generated from the
/// config records, so the options, the config file keys and config.yaml cannot drift apart.
/// </summary>
public static class TrainCommand
{
    internal static Command Build()
    {
        var algo = new Option<string>("--algo") { Description = $"Algorithm: {string.Join(", ", Trainer.Algorithms)} (required unless --resume)." };
        var resume = new Option<string>("--resume") { Description = "Continue the run in this folder from its checkpoint (a stopped, crashed or finished run; its budget may be raised with --max-env-steps). A2C continues exactly as if it had never stopped." };
        var config = new Option<string>("--config") { Description = "A YAML file of settings ('key: value', keys as in config.yaml), applied over the preset; options override it." };
        var output = new Option<string>("--out") { Description = "Run folder to create (default: runs/ALGO-ENV-sSEED-TIME-PID-N); a folder holding anything is refused." };
        output.NotBlank("a folder path");
        var quiet = new Option<bool>("--quiet") { Description = "No progress lines, only the final summary." };
        var noPreset = new Option<bool>("--no-preset") { Description = "Do not apply Hybrid's preset for the algorithm and env (experiments/presets.yaml); the defaults, the file and the options alone." };
        var command = new Command("train", "Train an agent and write its run folder (config.yaml, metrics.csv, TensorBoard events, checkpoint.bin, summary.json), or continue one with --resume.")
        {
            algo, resume, config, output, quiet, noPreset,
        };
        List<(ConfigKey Key, Option Option)> settings = AddSettings(command);
        command.SetAction(parse =>
        {
            List<(string Key, string Value, string Source)> overrides = Overrides(parse, settings);
            if (parse.GetValue(resume) is string folder)
            {
                if (parse.GetValue(output) is not null || parse.GetValue(noPreset))
                {
                    Console.Error.WriteLine("train: --resume continues the run in its own folder with its own settings; --out and --no-preset do not apply.");
                    return 2;
                }
                return Resume(folder, parse.GetValue(algo), parse.GetValue(config), overrides, parse.GetValue(quiet), Console.Out, Console.Error);
            }
            if (parse.GetValue(algo) is not string name)
            {
                Console.Error.WriteLine("train: --algo is required (or --resume RUN_DIR to continue a run); see 'hybrid train --help'.");
                return 2;
            }
            return Run(name, parse.GetValue(config), overrides, parse.GetValue(output), parse.GetValue(quiet), !parse.GetValue(noPreset),
                Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>Resolves the config and trains; returns the exit code (0 done, 1 failed while training, 2 bad input).</summary>
    internal static int Run(string algo, string? configFile, List<(string Key, string Value, string Source)> overrides, string? output, bool quiet,
        bool usePreset, TextWriter stdout, TextWriter stderr)
    {
        AlgoConfig config;
        IComputeDevice? device = null;
        try
        {
            config = Resolve(algo, configFile, overrides, usePreset, out string? preset);
            if (preset is not null) stderr.WriteLine($"train: preset {preset} (from {Presets.FileName}; --no-preset turns it off)");
            // The device is opened (and its kernels compiled) before the run's clock starts.
            device = DeviceChoice.For(GpuDevices.Instance, config, line => stderr.WriteLine($"train: {line}"));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            stderr.WriteLine($"train: {ErrorText.Of(e)}");
            return 2;
        }
        output ??= DefaultFolder(config);
        RunFolder folder;
        try
        {
            folder = new RunFolder(output, config);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"train: {ErrorText.Of(e)}");
            return 2;
        }
        return Execute(config, device, folder, null, quiet, stdout, stderr);
    }

    /// <summary>
    /// <c>train --resume RUN_DIR</c>: the run's config from its checkpoint, with the file's and the options' settings
    /// over it (only the budget and checkpoint settings may differ); trains on from the checkpoint in the same folder.
    /// </summary>
    internal static int Resume(string directory, string? algo, string? configFile, List<(string Key, string Value, string Source)> overrides, bool quiet,
        TextWriter stdout, TextWriter stderr, Runner? runner = null)
    {
        runner ??= Runner.InProcess;
        AlgoConfig config;
        IComputeDevice? device = null;
        RunFolder folder;
        CheckpointData checkpoint;
        try
        {
            if (File.Exists(directory)) throw new ArgumentException($"--resume '{directory}' is a file; expected the folder of a run made by train.");
            if (!Directory.Exists(directory)) throw new ArgumentException($"--resume '{directory}' does not exist; expected the folder of a run made by train.");
            string file = Path.Combine(directory, RunFolder.CheckpointFile);
            if (!File.Exists(file))
                throw new ArgumentException($"--resume '{directory}' holds no {RunFolder.CheckpointFile}; expected the folder of a run made by train (a run writes one every checkpoint_seconds, at the end and when stopped).");
            checkpoint = Checkpoint.Load(file);
            RunFolder.CheckCheckpointIsTheFolders(directory, checkpoint.Config);
            var saved = ConfigBinder.ParseRun(checkpoint.Config, file, out string savedAlgo);
            if (algo is not null && algo != savedAlgo) throw new ArgumentException($"--algo is '{algo}' but the run in '{directory}' is {savedAlgo}.");
            if (runner.Algos is { } only && !only.Contains(savedAlgo))
                throw new ArgumentException($"the run in '{directory}' is {savedAlgo}; {runner.Name} continues only {Trainer.Listed(only, "and")} runs.");
            var settings = new List<(string Key, string Value, string Source)>(saved);
            if (configFile is not null) settings.AddRange(ReadConfigFile(configFile, savedAlgo));
            settings.AddRange(overrides);
            config = Presets.Resolve(savedAlgo, settings, usePreset: false, out _);
            config.Validate();
            CheckSameRun(saved, ConfigBinder.ParseRun(ConfigBinder.ToYaml(config), "config", out _), directory, savedAlgo);
            if (checkpoint.EnvSteps >= config.MaxEnvSteps)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"the run in '{directory}' has taken {checkpoint.EnvSteps:N0} env steps, its whole budget (max_env_steps {config.MaxEnvSteps}); raise it with --max-env-steps to go on."));
            double seconds = RunProgress.Of(checkpoint).WallSeconds;
            if (config.MaxWallSeconds > 0 && seconds >= config.MaxWallSeconds)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"the run in '{directory}' has run {seconds:F1} s, its whole wall-clock budget (max_wall_seconds {config.MaxWallSeconds}); raise it with --max-wall-seconds to go on."));
            device = DeviceChoice.For(GpuDevices.Instance, config, line => stderr.WriteLine($"{runner.Name}: {line}"));
            folder = RunFolder.Resume(directory, config, RunProgress.Of(checkpoint).LoggedThrough);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            stderr.WriteLine($"{runner.Name}: {ErrorText.Of(e)}");
            return 2;
        }
        if (!quiet) stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runner.Name}: resuming {config.Algo} {config.Env} seed {config.Seed} at {checkpoint.EnvSteps:N0} env steps from {folder.Directory}"));
        return Execute(config, device, folder, checkpoint, quiet, stdout, stderr, runner);
    }

    /// <summary>Refuses a resume whose settings differ from the run's, but for <see cref="AlgoConfig.ResumableKeys"/>, naming each.</summary>
    internal static void CheckSameRun(List<(string Key, string Value, string Source)> saved, List<(string Key, string Value, string Source)> now, string directory,
        string algo)
    {
        var before = saved.ToDictionary(s => s.Key, s => s.Value);
        // A setting newer than the run's checkpoint reads as its default there.
        var defaults = ConfigBinder.ParseRun(ConfigBinder.ToYaml(Trainer.DefaultConfig(algo)), "defaults", out _).ToDictionary(s => s.Key, s => s.Value);
        var differing = new List<string>();
        foreach ((string key, string value, _) in now)
        {
            if (AlgoConfig.ResumableKeys.Contains(key)) continue;
            string old = before.GetValueOrDefault(key) ?? defaults.GetValueOrDefault(key) ?? "(not set)";
            if (old != value) differing.Add($"{key} (the run's {old}, now {value})");
        }
        if (differing.Count > 0)
            throw new ArgumentException($"the run in '{directory}' was made with other settings: {string.Join(", ", differing)}; a resumed run may change only " +
                $"{string.Join(", ", AlgoConfig.ResumableKeys)}. Start a new run to change the rest.");
    }

    /// <summary>Every setting of every algorithm as an option of <paramref name="command"/> (train's, and the cluster learner's).</summary>
    internal static List<(ConfigKey Key, Option Option)> AddSettings(Command command)
    {
        var settings = new List<(ConfigKey Key, Option Option)>();
        foreach (ConfigKey key in AllKeys())
        {
            string help = $"{key.Description} Default: {DefaultsOf(key)}.";
            Option option = key.Property.PropertyType == typeof(bool)
                ? new Option<bool>(key.Option) { Description = help }
                : new Option<string>(key.Option) { Description = help };
            command.Options.Add(option);
            settings.Add((key, option));
        }
        return settings;
    }

    /// <summary>The settings given as options on the command line.</summary>
    internal static List<(string Key, string Value, string Source)> Overrides(ParseResult parse, List<(ConfigKey Key, Option Option)> settings)
    {
        var overrides = new List<(string, string, string)>();
        foreach ((ConfigKey key, Option option) in settings)
        {
            if (parse.GetResult(option) is null or { Implicit: true }) continue;
            string value = option is Option<bool> flag ? (parse.GetValue(flag) ? "true" : "false") : parse.GetValue((Option<string>)option)!;
            overrides.Add((key.Key, value, key.Option));
        }
        return overrides;
    }

    /// <summary>
    /// What trains a run and what its messages call it: train itself (the algorithm in this process), or another command
    /// with its own trainer (the cluster learner). <see cref="Again"/> is the command that continues a run (the folder follows);
    /// <see cref="Algos"/>, when set, are the algorithms the command runs.
    /// </summary>
    internal sealed record Runner(string Name, string Again, Func<AlgoConfig, RunContext, IComputeDevice?, RunSummary>? Train = null, IReadOnlyList<string>? Algos = null)
    {
        /// <summary>train: the algorithm in this process.</summary>
        public static Runner InProcess { get; } = new("train", $"{Invocation.Name} train --resume");
    }

    /// <summary>Trains <paramref name="config"/> into a new run folder (<paramref name="output"/> or the default) with <paramref name="runner"/>; the exit code as train's.</summary>
    internal static int Execute(AlgoConfig config, IComputeDevice? device, string? output, bool quiet, TextWriter stdout, TextWriter stderr, Runner runner)
    {
        RunFolder folder;
        try
        {
            folder = new RunFolder(output ?? DefaultFolder(config), config);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{runner.Name}: {ErrorText.Of(e)}");
            return 2;
        }
        return Execute(config, device, folder, null, quiet, stdout, stderr, runner);
    }

    /// <summary>Trains <paramref name="config"/> into <paramref name="folder"/> (from <paramref name="checkpoint"/> when resuming); Ctrl-C and SIGTERM stop it cleanly. <paramref name="runner"/> trains (default: the algorithm in this process).</summary>
    static int Execute(AlgoConfig config, IComputeDevice? device, RunFolder folder, CheckpointData? checkpoint, bool quiet, TextWriter stdout, TextWriter stderr,
        Runner? runner = null)
    {
        runner ??= Runner.InProcess;
        using (folder)
        {
            RunContext run;
            try
            {
                run = new RunContext(config, folder, quiet ? null : line => stderr.WriteLine(line), checkpoint) { Command = CommandLine() };
            }
            catch (InvalidDataException e)
            {
                stderr.WriteLine($"{runner.Name}: {ErrorText.Of(e)}");
                return 2;
            }
            // Ctrl-C (SIGINT) or SIGTERM: finish the update in progress, write the summary ("interrupted") and exit
            // 130 or 143. A second Ctrl-C ends the process at once.
            using var signals = new StopSignals(_ =>
            {
                run.Stop.Request(RunSummary.Interrupted);
                stderr.WriteLine($"{runner.Name}: stopping after this update (a second Ctrl-C quits at once)");
            });
            try
            {
                RunSummary summary = runner.Train is { } train ? train(config, run, device) : Trainer.Train(config, run, device);
                if (summary.Status == RunSummary.Interrupted)
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{summary.Algo} {summary.Env} seed {summary.Seed}: interrupted at {summary.EnvSteps:N0} steps after {summary.WallSeconds:F2} s; summary.json says so."));
                    stdout.WriteLine($"run folder: {folder.Directory}");
                    if (File.Exists(Path.Combine(folder.Directory, RunFolder.CheckpointFile)))
                        stdout.WriteLine($"to continue it: {runner.Again} {Quote(folder.Directory)}");
                    return 128 + signals.Signal;
                }
                if (summary.Status != RunSummary.Finished)
                {
                    // A run that stopped on its own before its budget (a cluster learner left without actors).
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{summary.Algo} {summary.Env} seed {summary.Seed}: stopped ({summary.Status}) at {summary.EnvSteps:N0} steps after {summary.WallSeconds:F2} s; summary.json says so."));
                    stdout.WriteLine($"run folder: {folder.Directory}");
                    if (File.Exists(Path.Combine(folder.Directory, RunFolder.CheckpointFile)))
                        stdout.WriteLine($"to continue it: {runner.Again} {Quote(folder.Directory)}");
                    return 1;
                }
                string solved = summary.Solved
                    ? $"solved at {summary.SolvedAtEnvSteps:N0} steps, {summary.SolvedAtSeconds:F2} s"
                    : "not solved";
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{summary.Algo} {summary.Env} seed {summary.Seed}: {summary.EnvSteps:N0} steps in {summary.WallSeconds:F2} s " +
                    $"({summary.StepsPerSecond:N0} steps/s), final mean return {summary.FinalMeanReturn:F1} ({summary.SolveCriterion}), {solved}."));
                stdout.WriteLine($"run folder: {folder.Directory}");
                return 0;
            }
            catch (InvalidDataException e) when (checkpoint is not null && run.Metrics.Updates == checkpoint.Updates)
            {
                // The checkpoint does not fit the run (another kind of stream, a damaged section): nothing was trained.
                stderr.WriteLine($"{runner.Name}: cannot resume from {Path.Combine(folder.Directory, RunFolder.CheckpointFile)}: {ErrorText.Of(e)}");
                return 2;
            }
            catch (Exception e) when (e is WorkerFailedException or TrainingDivergedException or IOException or UnauthorizedAccessException)
            {
                // The run folder keeps what happened: summary.json with status "failed" and the error, and the whole
                // exception (a worker's stack trace) in error.txt; the terminal gets the message.
                bool kept = folder.RecordFailure(run, e, config.Threads, config.TotalEnvs);
                stderr.WriteLine($"{runner.Name}: {ErrorText.Of(e)}");
                if (e.InnerException is { } inner) stderr.WriteLine($"{runner.Name}: {inner.GetType().Name}: {inner.Message}");
                if (LastCheckpoint(folder) is long steps)
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{runner.Name}: the last checkpoint, at {steps:N0} env steps, is kept; {runner.Again} {Quote(folder.Directory)} continues from it."));
                if (kept) stderr.WriteLine($"{runner.Name}: details in {Path.Combine(folder.Directory, RunFolder.ErrorFile)}; summary.json has status \"failed\".");
                return 1;
            }
        }
    }

    /// <summary>The env steps of the run folder's checkpoint, if it holds a readable one.</summary>
    static long? LastCheckpoint(RunFolder folder)
    {
        try
        {
            string file = Path.Combine(folder.Directory, RunFolder.CheckpointFile);
            return File.Exists(file) ? Checkpoint.Load(file).EnvSteps : null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    static string Quote(string path) => path.Contains(' ') ? $"\"{path}\"" : path;

    /// <summary>The command line as the user typed it, for summary.json.</summary>
    /// <summary>The command as the user ran it: ./run.sh (or hybrid) and the arguments, rather than the runtime's path to the dll.</summary>
    static string CommandLine() => string.Join(' ', new[] { Invocation.Name }.Concat(Environment.GetCommandLineArgs().Skip(1)).Select(a => a.Contains(' ') ? $"\"{a}\"" : a));

    static int _folders;

    /// <summary>
    /// runs/ALGO-ENV-sSEED-TIME-PID-N: time to the millisecond, the process id and a count within the process, so that
    /// runs launched together (a sweep of processes, or of runs in one) never share a folder.
    /// </summary>
    internal static string DefaultFolder(AlgoConfig config) =>
        Path.Combine("runs", $"{config.Algo}-{config.Env.Replace('/', '_')}-s{config.Seed}-{DateTime.Now:yyyyMMdd-HHmmss-fff}-{Environment.ProcessId}-{Interlocked.Increment(ref _folders)}");

    /// <summary>Defaults, then the preset for the algorithm and env (with <paramref name="usePreset"/>), then the file, then the options; validated.</summary>
    internal static AlgoConfig Resolve(string algo, string? configFile, List<(string Key, string Value, string Source)> overrides, bool usePreset,
        out string? preset)
    {
        var settings = new List<(string Key, string Value, string Source)>();
        if (configFile is not null) settings.AddRange(ReadConfigFile(configFile, algo));
        settings.AddRange(overrides);
        AlgoConfig config = Presets.Resolve(algo, settings, usePreset, out preset);
        config.Validate();
        return config;
    }

    /// <summary>The settings of a --config file, checked to be a text file whose algo (if it names one) is <paramref name="algo"/>.</summary>
    static List<(string Key, string Value, string Source)> ReadConfigFile(string configFile, string algo)
    {
        if (Directory.Exists(configFile)) throw new ArgumentException($"--config '{configFile}' is a directory; expected a YAML file of settings.");
        if (!File.Exists(configFile)) throw new ArgumentException($"--config '{configFile}' does not exist.");
        string text;
        try
        {
            text = TextFiles.Read(configFile, $"--config '{configFile}'");
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message.Replace("expected a YAML file.", "expected a YAML file of settings.", StringComparison.Ordinal));
        }
        var settings = new List<(string Key, string Value, string Source)>();
        foreach (var entry in ConfigBinder.ParseYaml(text, configFile))
        {
            if (entry.Key != "algo") settings.Add(entry);
            else if (entry.Value != algo)
                throw new ArgumentException($"{entry.Source}: algo is '{entry.Value}' but --algo is '{algo}'.");
        }
        return settings;
    }

    static List<ConfigKey> AllKeys()
    {
        var keys = new List<ConfigKey>();
        foreach (string name in Trainer.Algorithms)
            foreach (ConfigKey key in ConfigBinder.Keys(Trainer.DefaultConfig(name).GetType()))
                if (!keys.Exists(k => k.Key == key.Key)) keys.Add(key);
        return keys;
    }

    static string DefaultsOf(ConfigKey key)
    {
        var byValue = new List<(string Value, List<string> Algos)>();
        foreach (string name in Trainer.Algorithms)
        {
            AlgoConfig defaults = Trainer.DefaultConfig(name);
            // A part's setting (num_envs) is held by a property of each config type that has it: match by name.
            ConfigKey? own = ConfigBinder.Keys(defaults.GetType()).FirstOrDefault(k => k.Key == key.Key);
            if (own is null) continue;
            string value = ConfigBinder.Format(own.Get(defaults)!);
            int i = byValue.FindIndex(v => v.Value == value);
            if (i < 0) byValue.Add((value, [name]));
            else byValue[i].Algos.Add(name);
        }
        if (byValue.Count == 1) return byValue[0].Value + (byValue[0].Algos.Count < Trainer.Algorithms.Count ? $" ({string.Join(", ", byValue[0].Algos)} only)" : "");
        return string.Join("; ", byValue.Select(v => $"{string.Join(", ", v.Algos)} {v.Value}"));
    }
}
