using System.Reflection;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Experiments;

/// <summary>
/// Per-(algorithm, env) settings shipped with Hybrid (<c>experiments/presets.yaml</c>, built into the assembly), applied
/// on top of an algorithm's defaults when the user names no config of their own, as rl-baselines3-zoo does.
/// </summary>
public static class Presets
{
    /// <summary>The file's name in messages and sources.</summary>
    public const string FileName = "experiments/presets.yaml";

    static readonly Lazy<Dictionary<string, List<(string Pattern, List<Setting> Settings)>>> s_table = new(Load);

    /// <summary>The preset settings for <paramref name="algo"/> on <paramref name="env"/> (an exact env entry wins over a family), or none.</summary>
    public static IReadOnlyList<Setting> For(string algo, string env) => Find(algo, env)?.Settings ?? [];

    /// <summary>The entry that applies, as "algo env-pattern", or null.</summary>
    public static string? Name(string algo, string env) => Find(algo, env) is { } entry ? $"{algo} {entry.Pattern}" : null;

    static (string Pattern, List<Setting> Settings)? Find(string algo, string env)
    {
        if (!s_table.Value.TryGetValue(algo, out var entries)) return null;
        foreach (var entry in entries)
            if (entry.Pattern == env) return entry;
        foreach (var entry in entries)
            if (entry.Pattern.EndsWith('*') && env.StartsWith(entry.Pattern[..^1], StringComparison.Ordinal)) return entry;
        return null;
    }

    /// <summary>
    /// The algorithm's defaults, then its preset for the env the settings name (unless <paramref name="usePreset"/> is
    /// false), then <paramref name="settings"/>: how both train and compare resolve a run's config. Not validated.
    /// </summary>
    /// <param name="algo">Algorithm name.</param>
    /// <param name="settings">The user's settings, (key, value, source), applied last.</param>
    /// <param name="usePreset">Whether to apply the preset.</param>
    /// <param name="applied">"algo pattern: key value, ..." of the preset applied, or null.</param>
    /// <exception cref="ArgumentException">The algorithm is unknown, or a setting is unknown to it or does not parse.</exception>
    public static AlgoConfig Resolve(string algo, IReadOnlyList<(string Key, string Value, string Source)> settings, bool usePreset, out string? applied)
    {
        AlgoConfig defaults = Trainer.DefaultConfig(algo);
        AlgoConfig config = ConfigBinder.Apply(defaults, settings);
        applied = null;
        if (!usePreset || For(algo, config.Env) is not { Count: > 0 } preset) return config;
        applied = $"{Name(algo, config.Env)}: {Describe(preset)}";
        return ConfigBinder.Apply(defaults, preset.Select(s => (s.Key, s.Value, s.Source)).Concat(settings));
    }

    /// <summary>The preset's settings as "key value, key value".</summary>
    public static string Describe(IReadOnlyList<Setting> settings) => string.Join(", ", settings.Select(s => $"{s.Key} {s.Value}"));

    static Dictionary<string, List<(string, List<Setting>)>> Load()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("presets.yaml")
            ?? throw new InvalidOperationException("The presets resource is missing from Hybrid.Experiments.");
        string text = new StreamReader(stream).ReadToEnd();
        YamlMappingNode root = YamlText.LoadMapping(text, FileName);
        var table = new Dictionary<string, List<(string, List<Setting>)>>(StringComparer.Ordinal);
        foreach (KeyValuePair<YamlNode, YamlNode> byAlgo in root.Children)
        {
            string algo = YamlText.Key(byAlgo.Key, FileName);
            if (!Trainer.Algorithms.Contains(algo)) throw new FormatException($"{YamlText.Where(FileName, byAlgo.Key.Start)}: '{algo}' is not an algorithm.");
            var entries = new List<(string, List<Setting>)>();
            foreach (KeyValuePair<YamlNode, YamlNode> byEnv in ((YamlMappingNode)byAlgo.Value).Children)
            {
                var settings = YamlText.Settings((YamlMappingNode)byEnv.Value, FileName).Select(s => new Setting(s.Key, s.Value, s.Source)).ToList();
                entries.Add((YamlText.Key(byEnv.Key, FileName), settings));
            }
            table[algo] = entries;
        }
        return table;
    }
}
