using System.Globalization;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Experiments;

/// <summary>
/// A speedup file: how the time to a reference score scales with threads, method by method, as in Mnih et al. 2016
/// Table 2. Every (env, seed, method, thread count) becomes one run that stops when the mean-100 return (greedy
/// evaluation for the Q methods) reaches the env's reference score. The YAML shape:
/// <code>
/// name: speedup-classic
/// methods: [q1, sarsa1, qn, a3c]        # impala and a2c too, with their own meaning of threads; or a variant:
///   # - {name: dqn-lock, algo: dqn, settings: {update: lock}}   # one algorithm under a label, with its settings
/// threads: [1, 2, 4, 8, 16]             # the smallest is the baseline every speedup divides by
/// envs: [CartPole-v1, Acrobot-v1]
/// seeds: [1, 2, 3, 4, 5]
/// max_env_steps: 2000000                # or per env
/// reference_scores: {CartPole-v1: 475, Acrobot-v1: -100}   # optional; default: each env's threshold
/// settings: {}                          # optional; applied to every run
/// method_settings: {q1: {learning_rate: 0.001}}            # optional; one method's runs, every thread count
/// wall_seconds: 60                      # optional; a run that has not reached the score by then counts as not reached
/// </code>
/// </summary>
public sealed record SpeedupSpec
{
    /// <summary>The experiment's name (the default output folder's).</summary>
    public required string Name { get; init; }
    /// <summary>The methods' labels, in the file's order: an algorithm's name, or a variant's.</summary>
    public required IReadOnlyList<string> Methods { get; init; }

    /// <summary>The algorithm of each variant's label (a method that is an algorithm's name is not listed).</summary>
    public IReadOnlyDictionary<string, string> MethodAlgos { get; init; } = new Dictionary<string, string>();

    /// <summary>The algorithm <paramref name="method"/> runs.</summary>
    public string AlgoOf(string method) => MethodAlgos.TryGetValue(method, out string? algo) ? algo : method;
    /// <summary>Thread counts, ascending; the first is the baseline.</summary>
    public required IReadOnlyList<int> Threads { get; init; }
    /// <summary>Env ids.</summary>
    public required IReadOnlyList<string> Envs { get; init; }
    /// <summary>Seeds.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>Budget in env steps per env.</summary>
    public required IReadOnlyDictionary<string, long> MaxEnvSteps { get; init; }
    /// <summary>Reference scores the file sets; an env not listed uses its threshold.</summary>
    public IReadOnlyDictionary<string, double> ReferenceScores { get; init; } = new Dictionary<string, double>();
    /// <summary>Settings for every run.</summary>
    public IReadOnlyList<Setting> Settings { get; init; } = [];
    /// <summary>Settings for one method's runs.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Setting>> MethodSettings { get; init; } = new Dictionary<string, IReadOnlyList<Setting>>();
    /// <summary>Wall-clock budget per run in seconds; null = none.</summary>
    public double? WallSeconds { get; init; }
    /// <summary>The file it was read from.</summary>
    public string Source { get; init; } = "";

    /// <summary>The thread count every speedup is measured against.</summary>
    public int Baseline => Threads[0];

    static readonly string[] TopKeys = ["name", "methods", "threads", "envs", "seeds", "max_env_steps", "reference_scores", "settings", "method_settings", "wall_seconds"];

    /// <summary>Reads and checks a speedup file.</summary>
    /// <exception cref="FormatException">The file is not valid: the message is one line naming the file, the line and what was expected.</exception>
    public static SpeedupSpec Load(string path) =>
        Parse(SpecReader.ReadFile(path, "speedup"), path);

    /// <summary>Reads and checks a speedup experiment from its YAML text.</summary>
    /// <exception cref="FormatException">The text is not valid; the message names the line.</exception>
    public static SpeedupSpec Parse(string text, string fileName)
    {
        (SpecReader reader, YamlMappingNode root, Dictionary<string, YamlNode> top) = SpecReader.Open(text, fileName, TopKeys, "a speedup file");
        (string name, List<string> envs, List<int> seeds, Dictionary<string, long> budget, IReadOnlyList<Setting> settings, double? wall) = reader.Common(top, root);
        // Each method is an algorithm's name, or a variant: {name, algo, settings}.
        var algos = new Dictionary<string, string>(StringComparer.Ordinal);
        var variantSettings = new Dictionary<string, List<Setting>>(StringComparer.Ordinal);
        var methods = reader.Required(top, "methods", root, n => reader.List(n, "methods", item =>
        {
            if (item is not YamlMappingNode) return reader.Text(item, "methods");
            ArmSpec variant = reader.Arm(item, envs);
            reader.Check(variant.EnvSettings.Count == 0 && variant.ClusterActors == 0, item, $"method '{variant.Name}' takes name, algo and settings only.");
            reader.Check(!Training.Algorithms.Trainer.Algorithms.Contains(variant.Name) || variant.Name == variant.Algo, item,
                $"method '{variant.Name}' is another algorithm's name; give the variant a label of its own.");
            algos[variant.Name] = variant.Algo;
            variantSettings[variant.Name] = [.. variant.Settings];
            return variant.Name;
        }));
        var threads = reader.Required(top, "threads", root, n => reader.List(n, "threads", item => reader.Int(item, "threads")));
        Dictionary<string, double> scores = top.TryGetValue("reference_scores", out YamlNode? rs)
            ? reader.PerEnv(rs, "reference_scores", envs, reader.Double, everyEnv: false) : [];

        reader.Check(methods.Count > 0, top["methods"], "methods is empty; expected at least one of " + string.Join(", ", Training.Algorithms.Trainer.Algorithms) + ".");
        foreach (string method in methods)
            reader.Check(algos.ContainsKey(method) || Training.Algorithms.Trainer.Algorithms.Contains(method), top["methods"],
                $"method '{method}' is unknown; expected one of {string.Join(", ", Training.Algorithms.Trainer.Algorithms)}, or a variant {{name: LABEL, algo: ALGO, settings: {{...}}}}.");
        reader.Check(methods.Distinct().Count() == methods.Count, top["methods"], "methods repeats a method; expected each once.");
        reader.Check(threads.Count > 0, top["threads"], "threads is empty; expected thread counts such as [1, 2, 4].");
        foreach (int n in threads) reader.Check(n >= 1, top["threads"], $"threads holds {n}; expected thread counts >= 1.");
        reader.Check(threads.Distinct().Count() == threads.Count, top["threads"], "threads repeats a count; expected each once.");
        foreach ((string env, double value) in scores)
            reader.Check(double.IsFinite(value), rs, $"reference_scores for {env} was {value}; expected a finite number.");
        foreach (Setting s in settings) CheckNotThreads(s);

        var byMethod = new Dictionary<string, IReadOnlyList<Setting>>(StringComparer.Ordinal);
        foreach ((string variant, List<Setting> own) in variantSettings)
        {
            foreach (Setting s in own) CheckNotThreads(s);
            byMethod[variant] = own;
        }
        if (top.TryGetValue("method_settings", out YamlNode? ms))
        {
            if (ms is not YamlMappingNode map) throw new FormatException($"{reader.Where(ms)}: method_settings takes 'method: {{key: value}}' entries.");
            foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
            {
                string method = YamlText.Key(entry.Key, fileName);
                reader.Check(methods.Contains(method), entry.Key, $"method_settings names method '{method}', which is not in methods ({string.Join(", ", methods)}).");
                List<Setting> own = reader.Settings(entry.Value, $"method_settings of {method}");
                foreach (Setting s in own) CheckNotThreads(s);
                byMethod[method] = [.. (byMethod.TryGetValue(method, out IReadOnlyList<Setting>? variant) ? variant : []), .. own];
            }
        }
        var spec = new SpeedupSpec
        {
            Name = name, Methods = methods, MethodAlgos = algos, Threads = threads.Order().ToArray(), Envs = envs, Seeds = seeds, MaxEnvSteps = budget,
            ReferenceScores = scores, Settings = settings, MethodSettings = byMethod, WallSeconds = wall, Source = fileName,
        };
        foreach (string env in envs)
            reader.Check(double.IsFinite(spec.ReferenceScore(env)), rs ?? top["envs"],
                $"{env} has no threshold of its own; give it a reference score under reference_scores.");
        spec.Experiment().CheckArms();
        return spec;
    }

    static void CheckNotThreads(Setting setting)
    {
        if (setting.Key == "threads" || Trainer.Registry.Any(a => a.ThreadSetting == setting.Key))
            throw new FormatException($"{setting.Source}: {setting.Key} is what a speedup file varies; list the thread counts under 'threads' at the top of the file.");
    }

    /// <summary>The score every run of <paramref name="env"/> has to reach: the file's, or the env's threshold.</summary>
    public double ReferenceScore(string env) =>
        ReferenceScores.TryGetValue(env, out double score) ? score : Hybrid.Envs.EnvRegistry.Spec(env).SolveThreshold;

    /// <summary>The name of the arm that runs <paramref name="method"/> with <paramref name="threads"/> threads.</summary>
    public static string ArmName(string method, int threads) => $"{method} x{threads}";

    /// <summary>
    /// The runs as an experiment for <see cref="ExperimentRunner"/>: one arm per (method, thread count), each run
    /// stopping at the reference score, with the file's budget and settings.
    /// </summary>
    /// <param name="cells">The cells to run (a <see cref="SpeedupPlan"/>'s); null: every method at every thread count.</param>
    public ExperimentSpec Experiment(IReadOnlyList<SpeedupCellPlan>? cells = null)
    {
        var arms = new List<ArmSpec>();
        foreach (string method in Methods)
            foreach (int n in Threads)
            {
                if (cells is not null && !cells.Any(c => c.Method == method && c.Threads == n)) continue;
                var settings = new List<Setting>(MethodSettings.TryGetValue(method, out IReadOnlyList<Setting>? own) ? own : [])
                {
                    // The method's thread count: threads, or the setting its algorithm counts as such (dyna-q's planning threads).
                    new(Trainer.Named(AlgoOf(method)).ThreadSetting, n.ToString(CultureInfo.InvariantCulture), $"{Source}: threads"),
                };
                arms.Add(new ArmSpec(ArmName(method, n), AlgoOf(method), settings));
            }
        return new ExperimentSpec
        {
            Name = Name, Envs = Envs, Seeds = Seeds, MaxEnvSteps = MaxEnvSteps, StopWhenSolved = true, Settings = Settings, Arms = arms,
            Threshold = Envs.ToDictionary(e => e, ReferenceScore), WallSeconds = WallSeconds, Source = Source,
        };
    }
}
