using System.Globalization;
using System.Reflection;
using System.Text;

namespace Hybrid.Training.Config;

/// <summary>One setting of an algorithm's config record.</summary>
/// <param name="Property">The property that declares it: the config record's own, or a part's (<see cref="Part"/>).</param>
/// <param name="Key">Its name in config files, snake_case (<c>learning_rate</c>).</param>
/// <param name="Option">Its command-line option, kebab-case (<c>--learning-rate</c>).</param>
/// <param name="Description">Its one-line doc.</param>
/// <param name="Part">The config's property that holds the part declaring it, or null for the config's own settings.</param>
public sealed record ConfigKey(PropertyInfo Property, string Key, string Option, string Description, PropertyInfo? Part = null)
{
    /// <summary>The setting's value in <paramref name="config"/>.</summary>
    public object? Get(AlgoConfig config) => Property.GetValue(Part is null ? config : Part.GetValue(config));

    /// <summary>
    /// Sets the value in <paramref name="config"/>, a copy the caller owns: a part is copied before it changes, since
    /// the config it was copied from shares it.
    /// </summary>
    internal void Set(AlgoConfig config, object? value)
    {
        if (Part is null)
        {
            Property.SetValue(config, value);
            return;
        }
        var part = (ConfigPart)Part.GetValue(config)!;
        ConfigPart copy = part with { };
        Property.SetValue(copy, value);
        Part.SetValue(config, copy);
    }
}

/// <summary>
/// Reads and writes algorithm configs as flat <c>key: value</c> YAML and binds textual overrides (from a file or
/// from options) to a record's properties by name. Reflection is used here only, never in a training loop.
/// </summary>
public static class ConfigBinder
{
    /// <summary>The settings of a config type, the shared ones first, in declaration order.</summary>
    public static IReadOnlyList<ConfigKey> Keys(Type configType)
    {
        ArgumentNullException.ThrowIfNull(configType);
        var chain = new List<Type>();
        for (Type? t = configType; t is not null && t != typeof(object); t = t.BaseType) chain.Insert(0, t);
        var keys = new List<ConfigKey>();
        foreach (Type t in chain)
        {
            PropertyInfo[] declared = t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
            Array.Sort(declared, (a, b) => a.MetadataToken.CompareTo(b.MetadataToken));
            foreach (PropertyInfo p in declared)
            {
                if (p.SetMethod is null) continue;
                if (typeof(ConfigPart).IsAssignableFrom(p.PropertyType))
                {
                    // A part's settings are the config's own keys, in the part's order, where the config holds it.
                    PropertyInfo[] members = p.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
                    Array.Sort(members, (a, b) => a.MetadataToken.CompareTo(b.MetadataToken));
                    foreach (PropertyInfo m in members)
                        if (m.GetCustomAttribute<DescriptionAttribute>() is { } partDoc && m.SetMethod is not null)
                            keys.Add(Key(m, partDoc, p));
                }
                else if (p.GetCustomAttribute<DescriptionAttribute>() is { } doc) keys.Add(Key(p, doc, null));
            }
        }
        return keys;
    }

    static ConfigKey Key(PropertyInfo p, DescriptionAttribute doc, PropertyInfo? part)
    {
        string snake = Snake(p.Name);
        return new ConfigKey(p, snake, "--" + snake.Replace('_', '-'), doc.Description, part);
    }

    /// <summary>Returns a copy of <paramref name="config"/> with each (key, value) applied, keys in snake_case.</summary>
    /// <param name="config">The starting config.</param>
    /// <param name="settings">Key, textual value, and where it came from (for messages, e.g. "run.yaml line 3").</param>
    /// <exception cref="ArgumentException">A key is unknown for this algorithm, or a value does not parse; the message names both.</exception>
    public static T Apply<T>(T config, IEnumerable<(string Key, string Value, string Source)> settings) where T : AlgoConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        IReadOnlyList<ConfigKey> keys = Keys(config.GetType());
        AlgoConfig copy = config with { };
        foreach ((string key, string value, string source) in settings)
        {
            ConfigKey? match = null;
            foreach (ConfigKey k in keys)
                if (k.Key == key) match = k;
            if (match is null)
                throw new ArgumentException($"{source}: '{key}' is not a setting of {config.Algo}; its settings are: {string.Join(", ", keys.Select(k => k.Key))}.", nameof(settings));
            object parsed;
            try
            {
                parsed = Parse(match.Property.PropertyType, value.Trim());
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"{source}: {key} '{value}' is not valid: {e.Message}", nameof(settings), e);
            }
            match.Set(copy, parsed);
        }
        return (T)copy;
    }

    /// <summary>
    /// <paramref name="target"/> with every setting it shares with <paramref name="source"/> (same key, same type)
    /// taken from <paramref name="source"/>: how a config made of another algorithm's parts (the hybrid regime's
    /// synchronous stream and workers) gets them without a hand-kept list of fields that could miss one.
    /// </summary>
    public static T Project<T>(AlgoConfig source, T target) where T : AlgoConfig
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        IReadOnlyList<ConfigKey> from = Keys(source.GetType());
        AlgoConfig copy = target with { };
        foreach (ConfigKey key in Keys(target.GetType()))
            foreach (ConfigKey k in from)
                if (k.Key == key.Key && k.Property.PropertyType == key.Property.PropertyType)
                    key.Set(copy, k.Get(source));
        return (T)copy;
    }

    /// <summary>The config as YAML: each key with its doc as a comment above it. <see cref="ParseYaml"/> reads it back.</summary>
    public static string ToYaml(AlgoConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var text = new StringBuilder();
        text.Append("# Hybrid run configuration, resolved (defaults, then --config file, then options).\n");
        text.Append("algo: ").Append(config.Algo).Append('\n');
        foreach (ConfigKey key in Keys(config.GetType()))
            text.Append("# ").Append(key.Description).Append('\n')
                .Append(key.Key).Append(": ").Append(Format(key.Get(config)!)).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// Reads a run config: a YAML mapping of <c>key: value</c>, where a value is a scalar or a list of scalars
    /// (<c>hidden: [64, 64]</c>, read as <c>64,64</c>). Each entry's source names the file and line, for messages.
    /// </summary>
    /// <param name="text">The file's text.</param>
    /// <param name="fileName">Used in messages.</param>
    /// <exception cref="FormatException">The text is not YAML, not a mapping, a value is nested, or a key appears twice; the message names the line.</exception>
    public static List<(string Key, string Value, string Source)> ParseYaml(string text, string fileName) =>
        YamlText.Settings(YamlText.LoadMapping(text, fileName), fileName);

    /// <summary>A run's resolved config as <see cref="ToYaml"/> wrote it (config.yaml, a checkpoint's): its algorithm, and its settings without that key.</summary>
    /// <exception cref="FormatException">The text is not such a config, or names no algorithm.</exception>
    public static List<(string Key, string Value, string Source)> ParseRun(string text, string fileName, out string algo)
    {
        List<(string Key, string Value, string Source)> settings = ParseYaml(text, fileName);
        algo = settings.Find(s => s.Key == "algo").Value ?? throw new FormatException($"{fileName}: the run's config names no algorithm.");
        settings.RemoveAll(s => s.Key == "algo");
        return settings;
    }

    /// <summary>The invariant text form of a setting's value (floats round-trip; arrays comma-separated; enums lower case).</summary>
    public static string Format(object value) => value switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => double.IsNaN(d) ? "auto" : d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        int[] a => a.Length == 0 ? "auto" : string.Join(',', a),
        Enum e => Kebab(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    static object Parse(Type type, string text)
    {
        const NumberStyles Integer = NumberStyles.AllowLeadingSign | NumberStyles.AllowThousands | NumberStyles.AllowExponent;
        CultureInfo inv = CultureInfo.InvariantCulture;
        if (type == typeof(string)) return text;
        if (type == typeof(int))
            return int.TryParse(text.Replace("_", ""), Integer, inv, out int i) ? i : throw new FormatException("expected a whole number.");
        if (type == typeof(long))
            return long.TryParse(text.Replace("_", ""), Integer, inv, out long l) ? l : throw new FormatException("expected a whole number.");
        if (type == typeof(float))
            return float.TryParse(text, NumberStyles.Float, inv, out float f) && float.IsFinite(f) ? f : throw new FormatException("expected a finite number.");
        if (type == typeof(bool))
            return text.ToLowerInvariant() switch
            {
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" => false,
                _ => throw new FormatException("expected true or false."),
            };
        if (type == typeof(double))
            // NaN is how a config holds "auto": a NaN or infinity written out is refused, not read as auto.
            return text == "auto" ? double.NaN
                : double.TryParse(text, NumberStyles.Float, inv, out double d) && double.IsFinite(d) ? d : throw new FormatException("expected a finite number or auto.");
        if (type == typeof(int[]))
        {
            if (text == "auto") return Array.Empty<int>();
            string[] parts = text.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var values = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], NumberStyles.None, inv, out values[i])) throw new FormatException("expected auto or comma-separated whole numbers, e.g. 64,64.");
            return values;
        }
        if (type.IsEnum)
        {
            foreach (object v in Enum.GetValues(type))
                if (string.Equals(Kebab(v.ToString()!), text, StringComparison.OrdinalIgnoreCase)) return v;
            throw new FormatException($"expected one of {string.Join(", ", Enum.GetNames(type).Select(Kebab))}.");
        }
        throw new NotSupportedException($"Config properties of type {type.Name} are not supported.");
    }

    /// <summary>An enum member as settings write it: lower case, words joined by '-' (IlgpuCpu is ilgpu-cpu).</summary>
    static string Kebab(string name) => Snake(name).Replace('_', '-');

    static string Snake(string name)
    {
        var text = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) text.Append('_');
            text.Append(char.ToLowerInvariant(name[i]));
        }
        return text.ToString();
    }
}
