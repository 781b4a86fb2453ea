using System.Globalization;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Experiments;

/// <summary>One setting as written in an experiment file: key, textual value, and "FILE line N" for messages.</summary>
public readonly record struct Setting(string Key, string Value, string Source);

/// <summary>One arm of a comparison: a name, an algorithm, and the settings that set it apart.</summary>
/// <param name="Name">Shown in the report.</param>
/// <param name="Algo">Algorithm name.</param>
/// <param name="Settings">The arm's own settings, applied after the experiment's.</param>
public sealed record ArmSpec(string Name, string Algo, IReadOnlyList<Setting> Settings)
{
    /// <summary>The arm's settings for one env only (e.g. a learning rate tuned there), applied after <see cref="Settings"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Setting>> EnvSettings { get; init; } = new Dictionary<string, IReadOnlyList<Setting>>();
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

    static readonly string[] TopKeys = ["name", "envs", "seeds", "max_env_steps", "stop_when_solved", "settings", "arms", "threshold", "cores", "wall_seconds", "tune"];
    static readonly string[] ArmKeys = ["name", "algo", "settings", "env_settings"];
    static readonly string[] TuneKeys = ["learning_rate", "seeds"];

    /// <summary>Reads and checks an experiment file.</summary>
    /// <exception cref="FormatException">The file is not valid: the message is one line naming the file, the line and what was expected.</exception>
    public static ExperimentSpec Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FormatException($"experiment file '{path}' does not exist.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Reads and checks an experiment from its YAML text.</summary>
    /// <exception cref="FormatException">The text is not a valid experiment; the message names the line.</exception>
    public static ExperimentSpec Parse(string text, string fileName)
    {
        YamlMappingNode root = YamlText.LoadMapping(text, fileName);
        var reader = new Reader(fileName);
        Dictionary<string, YamlNode> top = reader.Fields(root, TopKeys, "an experiment");
        string name = reader.Required(top, "name", root, n => reader.Text(n, "name"));
        var envs = reader.Required(top, "envs", root, n => reader.List(n, "envs", item => reader.Text(item, "envs")));
        var seeds = reader.Required(top, "seeds", root, n => reader.List(n, "seeds", item => reader.Int(item, "seeds")));
        Dictionary<string, long> budget = reader.Required(top, "max_env_steps", root, n => reader.PerEnv(n, "max_env_steps", envs, reader.Long, everyEnv: true));
        bool stop = top.TryGetValue("stop_when_solved", out YamlNode? s) && reader.Bool(s, "stop_when_solved");
        IReadOnlyList<Setting> settings = top.TryGetValue("settings", out YamlNode? st) ? reader.Settings(st, "settings") : [];
        var arms = reader.Required(top, "arms", root, n => reader.List(n, "arms", node => reader.Arm(node, envs)));
        Dictionary<string, double> threshold = top.TryGetValue("threshold", out YamlNode? th) ? reader.PerEnv(th, "threshold", envs, reader.Double, everyEnv: false) : [];
        int? cores = top.TryGetValue("cores", out YamlNode? c) ? reader.Int(c, "cores") : null;
        double? wall = top.TryGetValue("wall_seconds", out YamlNode? w) ? reader.Double(w, "wall_seconds") : null;
        TuneSpec? tune = top.TryGetValue("tune", out YamlNode? t) ? reader.Tune(t) : null;

        // Rules between fields, each refused with the line it is about.
        reader.Check(envs.Count > 0, top["envs"], "envs is empty; expected at least one env id.");
        reader.Check(seeds.Count > 0, top["seeds"], "seeds is empty; expected at least one seed.");
        reader.Check(seeds.Distinct().Count() == seeds.Count, top["seeds"], "seeds repeats a seed; expected each once.");
        foreach ((string env, long steps) in budget)
            reader.Check(steps >= 1, top["max_env_steps"], $"max_env_steps for {env} was {steps}; expected >= 1.");
        reader.Check(arms.Count >= 1, top["arms"], "arms is empty; expected at least one arm.");
        reader.Check(arms.Select(a => a.Name).Distinct().Count() == arms.Count, top["arms"], "two arms share a name; expected each arm named once.");
        reader.Check(cores is null or >= 1, c, $"cores was {cores}; expected >= 1.");
        reader.Check(wall is null or > 0, w, $"wall_seconds was {wall}; expected > 0.");
        foreach ((string env, double value) in threshold)
            reader.Check(double.IsFinite(value), th, $"threshold for {env} was {value}; expected a finite number.");
        foreach (string env in envs)
        {
            try { Hybrid.Envs.EnvRegistry.Spec(env); }
            catch (ArgumentException e) { throw new FormatException($"{YamlText.Where(fileName, top["envs"].Start)}: {e.Message}", e); }
        }
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
        // Every arm's settings must make a valid config on every env: refused now, not after an hour of other runs.
        foreach (ArmSpec arm in arms)
            foreach (string env in envs)
            {
                try { spec.Config(env, arm, seeds[0], learningRate: null); }
                catch (ArgumentException e) { throw new FormatException($"{fileName}: arm '{arm.Name}' on {env}: {ErrorText(e)}", e); }
            }
        return spec;
    }

    /// <summary>
    /// The resolved config of one run: the algorithm's defaults, its preset for the env (if any), the experiment's
    /// settings, the arm's, then what the experiment fixes for every arm alike (env, seed, budget, stop rule, threshold,
    /// threads = cores, wall budget) and, when tuned, the arm's learning rate.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is unknown to the arm's algorithm or out of range.</exception>
    public AlgoConfig Config(string env, ArmSpec arm, int seed, float? learningRate)
    {
        ArgumentNullException.ThrowIfNull(arm);
        var settings = new List<(string, string, string)> { ("env", env, "envs") };
        foreach (Setting s in Settings) settings.Add((s.Key, s.Value, s.Source));
        foreach (Setting s in arm.Settings) settings.Add((s.Key, s.Value, s.Source));
        if (arm.EnvSettings.TryGetValue(env, out IReadOnlyList<Setting>? own))
            foreach (Setting s in own) settings.Add((s.Key, s.Value, s.Source));
        AlgoConfig config = Presets.Resolve(arm.Algo, settings, usePreset: true, out _);
        bool armSetsThreads = settings.Exists(s => s.Item1 == "threads");
        config = config with
        {
            Env = env,
            Seed = seed,
            MaxEnvSteps = MaxEnvSteps[env],
            StopWhenSolved = StopWhenSolved,
            SolveThreshold = Threshold.TryGetValue(env, out double threshold) ? threshold : config.SolveThreshold,
            Threads = armSetsThreads ? config.Threads : CoresPerRun,
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

    /// <summary>Turns nodes into values, naming the file and line of anything that is not what was expected.</summary>
    sealed class Reader(string fileName)
    {
        public string Where(YamlNode node) => YamlText.Where(fileName, node.Start);

        public void Check(bool ok, YamlNode? node, string message)
        {
            if (!ok) throw new FormatException(node is null ? $"{fileName}: {message}" : $"{Where(node)}: {message}");
        }

        public Dictionary<string, YamlNode> Fields(YamlNode node, string[] known, string what)
        {
            if (node is not YamlMappingNode map) throw new FormatException($"{Where(node)}: expected the 'key: value' fields of {what}.");
            var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
            {
                string key = YamlText.Key(entry.Key, fileName);
                if (Array.IndexOf(known, key) < 0)
                    throw new FormatException($"{Where(entry.Key)}: '{key}' is not a field of {what}; expected one of {string.Join(", ", known)}.");
                fields[key] = entry.Value;
            }
            return fields;
        }

        public T Required<T>(Dictionary<string, YamlNode> fields, string key, YamlNode parent, Func<YamlNode, T> read) =>
            fields.TryGetValue(key, out YamlNode? node) ? read(node) : throw new FormatException($"{Where(parent)}: '{key}' is missing; it is required.");

        public string Text(YamlNode node, string key)
        {
            string text = YamlText.Scalar(node, key, fileName);
            Check(text.Length > 0, node, $"{key} is empty; expected a value.");
            return text;
        }

        public int Int(YamlNode node, string key) =>
            int.TryParse(YamlText.Scalar(node, key, fileName).Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
                ? v : throw new FormatException($"{Where(node)}: {key} '{YamlText.Scalar(node, key, fileName)}' is not a whole number.");

        public long Long(YamlNode node, string key) =>
            long.TryParse(YamlText.Scalar(node, key, fileName).Replace("_", ""), NumberStyles.AllowLeadingSign | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out long v)
                ? v : throw new FormatException($"{Where(node)}: {key} '{YamlText.Scalar(node, key, fileName)}' is not a whole number.");

        public double Double(YamlNode node, string key) =>
            double.TryParse(YamlText.Scalar(node, key, fileName), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v : throw new FormatException($"{Where(node)}: {key} '{YamlText.Scalar(node, key, fileName)}' is not a number.");

        public bool Bool(YamlNode node, string key) => YamlText.Scalar(node, key, fileName).ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            string other => throw new FormatException($"{Where(node)}: {key} '{other}' is not true or false."),
        };

        /// <summary>One value for every env, or a mapping env -> value (with <paramref name="everyEnv"/>, covering every env).</summary>
        public Dictionary<string, T> PerEnv<T>(YamlNode node, string key, List<string> envs, Func<YamlNode, string, T> read, bool everyEnv)
        {
            var values = new Dictionary<string, T>(StringComparer.Ordinal);
            if (node is not YamlMappingNode map)
            {
                T value = read(node, key);
                foreach (string env in envs) values[env] = value;
                return values;
            }
            foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
            {
                string env = YamlText.Key(entry.Key, fileName);
                Check(envs.Contains(env), entry.Key, $"{key} names env '{env}', which is not in envs ({string.Join(", ", envs)}).");
                values[env] = read(entry.Value, key);
            }
            if (everyEnv)
                foreach (string env in envs)
                    Check(values.ContainsKey(env), node, $"{key} gives no value for env '{env}'; expected one number, or one per env.");
            return values;
        }

        public List<T> List<T>(YamlNode node, string key, Func<YamlNode, T> item)
        {
            if (node is not YamlSequenceNode list) throw new FormatException($"{Where(node)}: {key} takes a list, e.g. [a, b].");
            return list.Children.Select(item).ToList();
        }

        public List<Setting> Settings(YamlNode node, string key)
        {
            if (node is YamlScalarNode { Value: null or "" }) return [];
            if (node is not YamlMappingNode map) throw new FormatException($"{Where(node)}: {key} takes 'key: value' settings, as in config.yaml.");
            var settings = YamlText.Settings(map, fileName).Select(s => new Setting(s.Key, s.Value, s.Source)).ToList();
            foreach (Setting setting in settings)
                if (setting.Key is "env" or "seed" or "max_env_steps" or "stop_when_solved" or "solve_threshold" or "max_wall_seconds")
                    throw new FormatException($"{setting.Source}: {setting.Key} is fixed by the experiment for every arm alike; set envs, seeds, max_env_steps, stop_when_solved, threshold or wall_seconds at the top of the file.");
            return settings;
        }

        public ArmSpec Arm(YamlNode node, List<string> envs)
        {
            Dictionary<string, YamlNode> fields = Fields(node, ArmKeys, "an arm");
            string name = Required(fields, "name", node, n => Text(n, "name"));
            string algo = Required(fields, "algo", node, n => Text(n, "algo"));
            Check(Trainer.Algorithms.Contains(algo), fields["algo"], $"algo '{algo}' is unknown; expected one of {string.Join(", ", Trainer.Algorithms)}.");
            List<Setting> settings = fields.TryGetValue("settings", out YamlNode? s) ? Settings(s, "settings") : [];
            var byEnv = new Dictionary<string, IReadOnlyList<Setting>>(StringComparer.Ordinal);
            if (fields.TryGetValue("env_settings", out YamlNode? e))
            {
                if (e is not YamlMappingNode map) throw new FormatException($"{Where(e)}: env_settings takes 'env: {{key: value}}' entries.");
                foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
                {
                    string env = YamlText.Key(entry.Key, fileName);
                    Check(envs.Contains(env), entry.Key, $"env_settings names env '{env}', which is not in envs ({string.Join(", ", envs)}).");
                    byEnv[env] = Settings(entry.Value, $"env_settings of {env}");
                }
            }
            return new ArmSpec(name, algo, settings) { EnvSettings = byEnv };
        }

        public TuneSpec Tune(YamlNode node)
        {
            Dictionary<string, YamlNode> fields = Fields(node, TuneKeys, "the tune section");
            var rates = Required(fields, "learning_rate", node, n => List(n, "learning_rate", item => (float)Double(item, "learning_rate")));
            var seeds = Required(fields, "seeds", node, n => List(n, "seeds", item => Int(item, "seeds")));
            Check(rates.Count > 0 && rates.All(r => r > 0 && float.IsFinite(r)), fields["learning_rate"], "learning_rate takes a list of rates > 0.");
            Check(seeds.Count > 0, fields["seeds"], "tune seeds is empty; expected at least one seed.");
            return new TuneSpec(rates, seeds);
        }
    }
}
