using System.Globalization;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Experiments;

/// <summary>One arm of a comparison: a name, an algorithm, and the settings that set it apart.</summary>
/// <param name="Name">Shown in the report.</param>
/// <param name="Algo">Algorithm name.</param>
/// <param name="Settings">The arm's own settings, applied after the experiment's.</param>
public sealed record ArmSpec(string Name, string Algo, IReadOnlyList<Setting> Settings)
{
    /// <summary>The arm's settings for one env only (e.g. a learning rate tuned there), applied after <see cref="Settings"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Setting>> EnvSettings { get; init; } = new Dictionary<string, IReadOnlyList<Setting>>();

    /// <summary>
    /// Above zero: the arm runs IMPALA or Ape-X across processes on this machine (<c>hybrid cluster learner --local-actors N</c>),
    /// a learner process and this many actor processes; zero: in one process.
    /// </summary>
    public int ClusterActors { get; init; }

    /// <summary>How the arm runs, for the report: in one process, or the cluster's learner and actor processes.</summary>
    public string Processes => ClusterActors > 0 ? $"cluster: learner + {ClusterActors} actor process{(ClusterActors == 1 ? "" : "es")}" : "one process";
}

/// <summary>A learning-rate grid, run on tuning seeds apart from the report's, to give each arm its own learning rate.</summary>
/// <param name="LearningRates">The grid.</param>
/// <param name="Seeds">Tuning seeds; none of them may be a report seed.</param>
public sealed record TuneSpec(IReadOnlyList<float> LearningRates, IReadOnlyList<int> Seeds);

/// <summary>
/// An experiment file: which arms to compare, on which envs and seeds, under which shared budget and criterion.
/// Every (env, arm, seed) becomes one run. The YAML shape:
/// <code>
/// name: cartpole-a2c-vs-a3c
/// envs: [CartPole-v1]
/// seeds: [1, 2, 3]
/// max_env_steps: 500000     # or per env: {CartPole-v1: 500000, MinAtar/Breakout-v0: 400000}
/// stop_when_solved: true
/// settings: {}            # every arm; keys as in config.yaml
/// arms:
///   - {name: A2C, algo: a2c}
///   - {name: A3C, algo: a3c, settings: {update: hogwild}, env_settings: {CartPole-v1: {learning_rate: 0.002}}}
///   - {name: IMPALA cluster, algo: impala, cluster_actors: 2}   # a learner process and 2 actor processes on this machine
/// # optional: threshold (one number, or per env), cores, wall_seconds, tune: {learning_rate: [...], seeds: [...]}
/// </code>
/// </summary>
public sealed record ExperimentSpec
{
    /// <summary>The experiment's name (the default output folder's).</summary>
    public required string Name { get; init; }
    /// <summary>Env ids.</summary>
    public required IReadOnlyList<string> Envs { get; init; }
    /// <summary>Report seeds.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>Budget in env steps per env, the same for every arm (the file gives one number, or one per env).</summary>
    public required IReadOnlyDictionary<string, long> MaxEnvSteps { get; init; }
    /// <summary>Whether runs stop at the threshold.</summary>
    public bool StopWhenSolved { get; init; }
    /// <summary>Settings for every arm.</summary>
    public IReadOnlyList<Setting> Settings { get; init; } = [];
    /// <summary>The arms.</summary>
    public required IReadOnlyList<ArmSpec> Arms { get; init; }
    /// <summary>Thresholds in place of the envs' own (the file gives one for every env, or one per env); an env not listed keeps its own.</summary>
    public IReadOnlyDictionary<string, double> Threshold { get; init; } = new Dictionary<string, double>();
    /// <summary>Cores every run may use: each arm's threads. Null = all of the machine's.</summary>
    public int? Cores { get; init; }
    /// <summary>Wall-clock budget per run in seconds; null = none.</summary>
    public double? WallSeconds { get; init; }
    /// <summary>The learning-rate grid, if any.</summary>
    public TuneSpec? Tune { get; init; }
    /// <summary>The file it was read from (for messages).</summary>
    public string Source { get; init; } = "";

    /// <summary>Runs in all: the learning-rate grid's and the reported ones.</summary>
    public int RunCount => Envs.Count * Arms.Count * (Seeds.Count + (Tune is { } t ? t.LearningRates.Count * t.Seeds.Count : 0));

    /// <summary>The cores every run gets.</summary>
    public int CoresPerRun => Cores ?? Environment.ProcessorCount;

    /// <summary>The threads a run may keep busy: the file's cores per run, at most the machine's.</summary>
    public int CoreLimit => Math.Min(CoresPerRun, Environment.ProcessorCount);

    /// <summary>Threads one arm's runs keep busy on <paramref name="env"/>: its threads plus its helper threads.</summary>
    public int ThreadsUsed(string env, ArmSpec arm) => Threads(env, arm).Used;

    /// <summary>
    /// An arm's threads on <paramref name="env"/>: in all, and where helper threads (a server applier, a learner, a
    /// predictor) add to the arm's own, how (" (1 + 2 helpers)"; empty without helpers).
    /// </summary>
    public (int Used, string Split) Threads(string env, ArmSpec arm)
    {
        AlgoConfig config = Config(env, arm, Seeds[0], null);
        return (config.Threads + config.HelperThreads, config.HelperThreads == 0 ? ""
            : $" ({config.Threads} + {config.HelperThreads} helper{(config.HelperThreads == 1 ? "" : "s")})");
    }

    /// <summary>"arm 'GA3C' keeps 3 threads busy (1 + 2 helpers)" for every arm over <see cref="CoreLimit"/> (its first such env); empty when every arm fits.</summary>
    public List<string> Oversubscribing()
    {
        var over = new List<string>();
        foreach (ArmSpec arm in Arms)
            foreach (string env in Envs)
            {
                (int used, string split) = Threads(env, arm);
                if (used <= CoreLimit) continue;
                over.Add($"arm '{arm.Name}'{(Envs.Count > 1 ? $" on {env}" : "")} keeps {used} threads busy{split}");
                break;
            }
        return over;
    }

    static readonly string[] TopKeys = ["name", "envs", "seeds", "max_env_steps", "stop_when_solved", "settings", "arms", "threshold", "cores", "wall_seconds", "tune"];
    internal static readonly string[] ArmKeys = ["name", "algo", "settings", "env_settings", "cluster_actors"];
    internal static readonly string[] TuneKeys = ["learning_rate", "seeds"];

    /// <summary>Reads and checks an experiment file.</summary>
    /// <exception cref="FormatException">The file is not valid: the message is one line naming the file, the line and what was expected.</exception>
    public static ExperimentSpec Load(string path) =>
        Parse(SpecReader.ReadFile(path, "experiment"), path);

    /// <summary>Reads and checks an experiment from its YAML text.</summary>
    /// <exception cref="FormatException">The text is not a valid experiment; the message names the line.</exception>
    public static ExperimentSpec Parse(string text, string fileName)
    {
        (SpecReader reader, YamlMappingNode root, Dictionary<string, YamlNode> top) = SpecReader.Open(text, fileName, TopKeys, "an experiment");
        (string name, List<string> envs, List<int> seeds, Dictionary<string, long> budget, IReadOnlyList<Setting> settings, double? wall) = reader.Common(top, root);
        bool stop = top.TryGetValue("stop_when_solved", out YamlNode? s) && reader.Bool(s, "stop_when_solved");
        var arms = reader.Required(top, "arms", root, n => reader.List(n, "arms", node => reader.Arm(node, envs)));
        Dictionary<string, double> threshold = top.TryGetValue("threshold", out YamlNode? th) ? reader.PerEnv(th, "threshold", envs, reader.Double, everyEnv: false) : [];
        int? cores = top.TryGetValue("cores", out YamlNode? c) ? reader.Int(c, "cores") : null;
        TuneSpec? tune = top.TryGetValue("tune", out YamlNode? t) ? reader.Tune(t) : null;

        // Rules between fields, each refused with the line it is about.
        reader.Check(arms.Count >= 1, top["arms"], "arms is empty; expected at least one arm.");
        reader.Check(arms.Select(a => a.Name).Distinct().Count() == arms.Count, top["arms"], "two arms share a name; expected each arm named once.");
        reader.Check(cores is null or >= 1, c, $"cores was {cores}; expected >= 1.");
        foreach ((string env, double value) in threshold)
            reader.Check(double.IsFinite(value), th, $"threshold for {env} was {value}; expected a finite number.");
        if (tune is not null)
        {
            int[] overlap = tune.Seeds.Intersect(seeds).ToArray();
            reader.Check(overlap.Length == 0, t, $"tune seeds {string.Join(", ", overlap)} are also report seeds; tuning seeds must differ from the seeds reported.");
        }
        var spec = new ExperimentSpec
        {
            Name = name, Envs = envs, Seeds = seeds, MaxEnvSteps = budget, StopWhenSolved = stop, Settings = settings, Arms = arms,
            Threshold = threshold, Cores = cores, WallSeconds = wall, Tune = tune, Source = fileName,
        };
        spec.CheckArms();
        return spec;
    }

    /// <summary>Every arm's settings must make a valid config on every env: refused now, not after an hour of other runs.</summary>
    /// <exception cref="FormatException">Some arm's config is not valid on some env; the message names both.</exception>
    internal void CheckArms()
    {
        foreach (ArmSpec arm in Arms)
            foreach (string env in Envs)
            {
                try { Config(env, arm, Seeds[0], learningRate: null); }
                catch (ArgumentException e) { throw new FormatException($"{Source}: arm '{arm.Name}' on {env}: {ErrorText(e)}", e); }
            }
    }

    /// <summary>
    /// An arm's config on <paramref name="env"/> before what the experiment fixes for every run: the algorithm's
    /// defaults, its preset for the env, the experiment's settings, the arm's, and its settings for the env, with where
    /// each setting came from (the report's "learning rate from" column reads it).
    /// </summary>
    /// <exception cref="ArgumentException">A setting is unknown to the arm's algorithm or does not parse.</exception>
    public ResolvedConfig Resolve(string env, ArmSpec arm)
    {
        ArgumentNullException.ThrowIfNull(arm);
        return Presets.Resolve(arm.Algo,
        [
            new SettingsLayer("the experiment's envs", [new Setting("env", env, "envs")]),
            new SettingsLayer("the experiment's settings", Settings),
            new SettingsLayer("the arm's settings", arm.Settings),
            new SettingsLayer("the arm's env_settings", arm.EnvSettings.TryGetValue(env, out IReadOnlyList<Setting>? own) ? own : []),
        ], usePreset: true);
    }

    /// <summary>
    /// The resolved config of one run: the algorithm's defaults, its preset for the env (if any), the experiment's
    /// settings, the arm's, then what the experiment fixes for every arm alike (env, seed, budget, stop rule, threshold,
    /// threads = cores, wall budget) and, when tuned, the arm's learning rate.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is unknown to the arm's algorithm or out of range.</exception>
    public AlgoConfig Config(string env, ArmSpec arm, int seed, float? learningRate)
    {
        ResolvedConfig resolved = Resolve(env, arm);
        AlgoConfig config = resolved.Config;
        bool armSetsThreads = resolved.Origins.ContainsKey("threads");
        config = config with
        {
            Env = env,
            Seed = seed,
            MaxEnvSteps = MaxEnvSteps[env],
            StopWhenSolved = StopWhenSolved,
            SolveThreshold = Threshold.TryGetValue(env, out double threshold) ? threshold : config.SolveThreshold,
            // Helper threads (a server applier, a learner, GA3C's predictor) count against the cores, as in speedup.
            Threads = armSetsThreads ? config.Threads : Math.Max(1, CoresPerRun - config.HelperThreads),
            MaxWallSeconds = WallSeconds ?? config.MaxWallSeconds,
            LearningRate = learningRate ?? config.LearningRate,
        };
        config.Validate();
        return config;
    }

    static string ErrorText(Exception e)
    {
        string m = e.Message;
        int p = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return p >= 0 ? m[..p] : m;
    }
}
