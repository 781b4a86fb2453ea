using System.Globalization;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Experiments;

/// <summary>The fields every experiment file has, read and checked.</summary>
internal sealed record CommonFields(string Name, List<string> Envs, List<int> Seeds, Dictionary<string, long> MaxEnvSteps,
    IReadOnlyList<Setting> Settings, double? WallSeconds);

/// <summary>Turns nodes into values, naming the file and line of anything that is not what was expected.</summary>
internal sealed class SpecReader(string fileName)
{
    /// <summary>Parses the text and reads its top-level fields, refusing any not in <paramref name="keys"/>.</summary>
    public static (SpecReader Reader, YamlMappingNode Root, Dictionary<string, YamlNode> Top) Open(string text, string fileName, string[] keys, string what)
    {
        YamlMappingNode root = YamlText.LoadMapping(text, fileName);
        var reader = new SpecReader(fileName);
        return (reader, root, reader.Fields(root, keys, what));
    }

    /// <summary>The text of an experiment file (<paramref name="what"/>: "experiment", "speedup").</summary>
    /// <exception cref="FormatException">There is no such file, or it is a directory, binary, or larger than TextFiles.MaxBytes.</exception>
    public static string ReadFile(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new FormatException($"{what} file '{path}' is a directory; expected a YAML file.");
        if (!File.Exists(path)) throw new FormatException($"{what} file '{path}' does not exist.");
        return TextFiles.Read(path, $"{what} file '{path}'");
    }

    /// <summary>
    /// name, envs, seeds, max_env_steps (one number or one per env), settings and wall_seconds, with their rules: at
    /// least one env, each known; at least one seed, none repeated; budgets >= 1; wall seconds > 0.
    /// </summary>
    public CommonFields Common(Dictionary<string, YamlNode> top, YamlNode root)
    {
        string name = Required(top, "name", root, n => Text(n, "name"));
        var envs = Required(top, "envs", root, n => List(n, "envs", item => Text(item, "envs")));
        var seeds = Required(top, "seeds", root, n => List(n, "seeds", item => Int(item, "seeds")));
        Dictionary<string, long> budget = Required(top, "max_env_steps", root, n => PerEnv(n, "max_env_steps", envs, Long, everyEnv: true));
        IReadOnlyList<Setting> settings = top.TryGetValue("settings", out YamlNode? st) ? Settings(st, "settings") : [];
        double? wall = top.TryGetValue("wall_seconds", out YamlNode? w) ? Double(w, "wall_seconds") : null;
        Check(envs.Count > 0, top["envs"], "envs is empty; expected at least one env id.");
        Check(seeds.Count > 0, top["seeds"], "seeds is empty; expected at least one seed.");
        Check(seeds.Distinct().Count() == seeds.Count, top["seeds"], "seeds repeats a seed; expected each once.");
        foreach ((string env, long steps) in budget)
            Check(steps >= 1, top["max_env_steps"], $"max_env_steps for {env} was {steps}; expected >= 1.");
        Check(wall is null or > 0, w, $"wall_seconds was {wall}; expected > 0.");
        foreach (string env in envs)
        {
            try { Hybrid.Envs.EnvRegistry.Spec(env); }
            catch (ArgumentException e) { throw new FormatException($"{YamlText.Where(fileName, top["envs"].Start)}: {e.Message}", e); }
        }
        return new CommonFields(name, envs, seeds, budget, settings, wall);
    }

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
        Dictionary<string, YamlNode> fields = Fields(node, ExperimentSpec.ArmKeys, "an arm");
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
        int clusterActors = 0;
        if (fields.TryGetValue("cluster_actors", out YamlNode? c))
        {
            clusterActors = Int(c, "cluster_actors");
            Check(clusterActors >= 1, c, $"cluster_actors was {clusterActors}; expected >= 1 (actor processes on this machine), or no cluster_actors for a run in one process.");
            Check(Trainer.ClusterAlgorithms.Contains(algo), c, $"cluster_actors runs {Trainer.Listed(Trainer.ClusterAlgorithms, "or")} across processes; this arm's algo is {algo}.");
        }
        return new ArmSpec(name, algo, settings) { EnvSettings = byEnv, ClusterActors = clusterActors };
    }

    public TuneSpec Tune(YamlNode node)
    {
        Dictionary<string, YamlNode> fields = Fields(node, ExperimentSpec.TuneKeys, "the tune section");
        var rates = Required(fields, "learning_rate", node, n => List(n, "learning_rate", item => (float)Double(item, "learning_rate")));
        var seeds = Required(fields, "seeds", node, n => List(n, "seeds", item => Int(item, "seeds")));
        Check(rates.Count > 0 && rates.All(r => r > 0 && float.IsFinite(r)), fields["learning_rate"], "learning_rate takes a list of rates > 0.");
        Check(seeds.Count > 0, fields["seeds"], "tune seeds is empty; expected at least one seed.");
        return new TuneSpec(rates, seeds);
    }
}
