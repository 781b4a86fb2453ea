using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hybrid.Training.Config;

/// <summary>
/// YAML reading shared by run configs and experiment files: YamlDotNet parses, this class turns its nodes into
/// Hybrid's values and says which line of which file is wrong when one is not what was expected.
/// </summary>
public static class YamlText
{
    /// <summary>The document's top-level mapping (an empty document is an empty mapping).</summary>
    /// <exception cref="FormatException">The text is not YAML, has a key twice, or its top level is not a mapping; the message names the line.</exception>
    public static YamlMappingNode LoadMapping(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // YamlDotNet's own message starts with "(Line: .., Col: .., ...) - "; Hybrid's says the line once.
            string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            int dash = message.IndexOf(" - ", StringComparison.Ordinal);
            if (message.StartsWith('(') && dash > 0) message = message[(dash + 3)..];
            string[] lines = text.Split('\n');
            if (message.Contains("same key", StringComparison.Ordinal) || message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase))
            {
                // Name the key: the text before the colon on the line the parser stopped at.
                string line = e.Start.Line >= 1 && e.Start.Line <= lines.Length ? lines[e.Start.Line - 1] : "";
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                message = colon > 0 ? $"the key '{line[..colon].Trim()}' appears twice." : "a key appears twice.";
            }
            else if (message.Contains("tab character", StringComparison.Ordinal))
            {
                // The parser reports where the scalar before the tab began; say which line the tab indents.
                int tabbed = Array.FindIndex(lines, l => l.Length > l.TrimStart(' ', '\t').Length && l[..(l.Length - l.TrimStart(' ', '\t').Length)].Contains('\t'));
                if (tabbed >= 0)
                    throw new FormatException($"{fileName} line {tabbed + 1}: a tab indents this line; YAML indents with spaces.", e);
            }
            throw new FormatException($"{Where(fileName, e.Start)}: {message.TrimEnd('.')}.", e);
        }
        if (stream.Documents.Count == 0) return new YamlMappingNode();
        if (stream.Documents.Count > 1)
            throw new FormatException($"{Where(fileName, stream.Documents[1].RootNode.Start)}: one YAML document was expected; this is a second.");
        YamlNode root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" }) return new YamlMappingNode();
        return root as YamlMappingNode
            ?? throw new FormatException($"{Where(fileName, root.Start)}: expected 'key: value' lines at the top level.");
    }

    /// <summary>Each entry of <paramref name="map"/> as (key, textual value, "FILE line N"); a list value is joined with commas.</summary>
    /// <exception cref="FormatException">A key is not a plain word, or a value is a mapping or a nested list.</exception>
    public static List<(string Key, string Value, string Source)> Settings(YamlMappingNode map, string fileName)
    {
        ArgumentNullException.ThrowIfNull(map);
        var result = new List<(string, string, string)>();
        foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
        {
            string key = Key(entry.Key, fileName);
            result.Add((key, Scalar(entry.Value, key, fileName, allowList: true), Where(fileName, entry.Key.Start)));
        }
        return result;
    }

    /// <summary>The key's text.</summary>
    /// <exception cref="FormatException">The key is not a scalar.</exception>
    public static string Key(YamlNode node, string fileName) =>
        node is YamlScalarNode { Value: { Length: > 0 } text }
            ? text
            : throw new FormatException($"{Where(fileName, node.Start)}: expected a plain key.");

    /// <summary>A scalar's text; with <paramref name="allowList"/>, a list of scalars joined with commas.</summary>
    /// <exception cref="FormatException">The node is a mapping, or a list where none is allowed.</exception>
    public static string Scalar(YamlNode node, string key, string fileName, bool allowList = false)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                return scalar.Value ?? "";
            case YamlSequenceNode list when allowList:
                var parts = new List<string>();
                foreach (YamlNode item in list.Children)
                    parts.Add(item is YamlScalarNode { Value: { } v }
                        ? v
                        : throw new FormatException($"{Where(fileName, item.Start)}: {key} takes a list of plain values."));
                return string.Join(',', parts);
            default:
                throw new FormatException($"{Where(fileName, node.Start)}: {key} takes a single value{(allowList ? " or a list" : "")}, not {Kind(node)}.");
        }
    }

    /// <summary>"FILE line N" for a node's position.</summary>
    public static string Where(string fileName, Mark mark) => $"{fileName} line {mark.Line}";

    static string Kind(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "that",
    };
}
