using System.Reflection;
using Hybrid.Training.Algorithms;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Training.Config;

/// <summary>One setting as written in a file or given as an option: key, textual value, and where it came from ("FILE line N", "--seed") for messages.</summary>
public readonly record struct Setting(string Key, string Value, string Source);

/// <summary>Settings that come from one place, applied together: an experiment's, an arm's, a config file's.</summary>
/// <param name="Name">The place, as a report names it ("the arm's settings").</param>
/// <param name="Settings">Its settings.</param>
public sealed record SettingsLayer(string Name, IReadOnlyList<Setting> Settings);

/// <summary>
/// A run's config as resolved from its algorithm's defaults, its preset and the layers of settings over them, with
/// where each setting it was given came from.
/// </summary>
/// <param name="Config">The config (not validated).</param>
/// <param name="Preset">"algo pattern: key value, ..." of the preset applied, or null.</param>
/// <param name="Origins">Each key set by the preset or a layer: the layer's name ("the preset" for the preset) and the setting's source; the last to set it wins.</param>
public sealed record ResolvedConfig(AlgoConfig Config, string? Preset, IReadOnlyDictionary<string, (string Layer, string Source)> Origins)
{
    /// <summary>Where <paramref name="key"/>'s value came from, as a report says it: "the arm's settings (FILE line N)", "the preset", or "ALGO's default".</summary>
    public string OriginOf(string key) => Origins.TryGetValue(key, out var origin)
        ? origin.Layer == Presets.Layer ? origin.Layer : $"{origin.Layer} ({origin.Source})"
        : $"{Config.Algo}'s default";
}

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

    /// <summary>The layer name the preset's settings have in <see cref="ResolvedConfig.Origins"/>.</summary>
    public const string Layer = "the preset";

    /// <summary>
    /// The algorithm's defaults, then its preset for the env the settings name (unless <paramref name="usePreset"/> is
    /// false), then <paramref name="layers"/> in order, each over the last: how train, compare and speedup resolve a
    /// run's config, in this one place. Not validated.
    /// </summary>
    /// <param name="algo">Algorithm name.</param>
    /// <param name="layers">The user's settings, applied after the preset, in order.</param>
    /// <param name="usePreset">Whether to apply the preset.</param>
    /// <exception cref="ArgumentException">The algorithm is unknown, or a setting is unknown to it or does not parse.</exception>
    public static ResolvedConfig Resolve(string algo, IReadOnlyList<SettingsLayer> layers, bool usePreset)
    {
        ArgumentNullException.ThrowIfNull(layers);
        AlgoConfig defaults = Trainer.DefaultConfig(algo);
        IEnumerable<Setting> given = layers.SelectMany(l => l.Settings);
        // The env decides the preset: find it from the given settings first.
        string env = ConfigBinder.Apply(defaults, given.Select(s => (s.Key, s.Value, s.Source))).Env;
        IReadOnlyList<Setting> preset = usePreset ? For(algo, env) : [];
        var origins = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (Setting s in preset) origins[s.Key] = (Layer, s.Source);
        foreach (SettingsLayer layer in layers)
            foreach (Setting s in layer.Settings) origins[s.Key] = (layer.Name, s.Source);
        AlgoConfig config = ConfigBinder.Apply(defaults, preset.Concat(given).Select(s => (s.Key, s.Value, s.Source)));
        return new ResolvedConfig(config, preset.Count > 0 ? $"{Name(algo, env)}: {Describe(preset)}" : null, origins);
    }

    /// <summary>
    /// <see cref="Resolve(string, IReadOnlyList{SettingsLayer}, bool)"/> with one layer of <paramref name="settings"/>
    /// (a config file's and the options'); <paramref name="applied"/> says which preset was applied, if any.
    /// </summary>
    /// <exception cref="ArgumentException">The algorithm is unknown, or a setting is unknown to it or does not parse.</exception>
    public static AlgoConfig Resolve(string algo, IReadOnlyList<(string Key, string Value, string Source)> settings, bool usePreset, out string? applied)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ResolvedConfig resolved = Resolve(algo, [new SettingsLayer("the settings", [.. settings.Select(s => new Setting(s.Key, s.Value, s.Source))])], usePreset);
        applied = resolved.Preset;
        return resolved.Config;
    }

    /// <summary>The preset's settings as "key value, key value".</summary>
    public static string Describe(IReadOnlyList<Setting> settings) => string.Join(", ", settings.Select(s => $"{s.Key} {s.Value}"));

    static Dictionary<string, List<(string, List<Setting>)>> Load()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("presets.yaml")
            ?? throw new InvalidOperationException("The presets resource is missing from Hybrid.Training.");
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
