using System.Globalization;
using Pipeline.LogQL.Units;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Hosting.Config;

/// <summary>
/// One node of a YAML configuration with its path and position, and typed readers that fail with a
/// <see cref="ConfigException"/> naming the path, line, column, the value and what would be accepted.
/// </summary>
public sealed class ConfigNode
{
    private readonly YamlNode? _node;
    private readonly string? _file;

    internal ConfigNode(YamlNode? node, string path, string? file, int line, int column)
    {
        _node = node;
        Path = path;
        _file = file;
        Line = line;
        Column = column;
    }

    /// <summary>The YAML path, e.g. <c>scrape_configs[0].job_name</c>.</summary>
    public string Path { get; }

    /// <summary>1-based line of the node (of its parent, when missing).</summary>
    public int Line { get; }

    /// <summary>1-based column of the node (of its parent, when missing).</summary>
    public int Column { get; }

    /// <summary>Whether the key is absent or its value is YAML null (<c>~</c>, empty).</summary>
    public bool IsMissing => _node is null || (_node is YamlScalarNode scalar && IsNullScalar(scalar));

    /// <summary>Whether the node is a mapping.</summary>
    public bool IsMapping => _node is YamlMappingNode;

    /// <summary>Whether the node is a sequence.</summary>
    public bool IsSequence => _node is YamlSequenceNode;

    /// <summary>The child at <paramref name="key"/> of a mapping (a missing node when absent).</summary>
    /// <param name="key">The key.</param>
    public ConfigNode this[string key]
    {
        get
        {
            var mapping = RequireMappingOrMissing();
            var childPath = string.IsNullOrEmpty(Path) ? key : $"{Path}.{key}";
            if (mapping is not null)
            {
                foreach (var pair in mapping.Children)
                {
                    if (pair.Key is YamlScalarNode k && string.Equals(k.Value, key, StringComparison.Ordinal))
                    {
                        return new ConfigNode(pair.Value, childPath, _file, (int)pair.Value.Start.Line, (int)pair.Value.Start.Column);
                    }
                }
            }

            return new ConfigNode(null, childPath, _file, Line, Column);
        }
    }

    /// <summary>The items of a sequence (none when missing).</summary>
    /// <returns>The items.</returns>
    public IReadOnlyList<ConfigNode> Items()
    {
        if (IsMissing)
        {
            return [];
        }

        if (_node is not YamlSequenceNode sequence)
        {
            throw Error($"expected a list, found {Describe()}");
        }

        var items = new List<ConfigNode>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var child = sequence.Children[i];
            items.Add(new ConfigNode(child, $"{Path}[{i}]", _file, (int)child.Start.Line, (int)child.Start.Column));
        }

        return items;
    }

    /// <summary>The entries of a mapping, in file order (none when missing).</summary>
    /// <returns>Key and value pairs.</returns>
    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries()
    {
        var mapping = RequireMappingOrMissing();
        if (mapping is null)
        {
            return [];
        }

        var entries = new List<KeyValuePair<string, ConfigNode>>(mapping.Children.Count);
        foreach (var pair in mapping.Children)
        {
            var key = pair.Key is YamlScalarNode k ? k.Value ?? string.Empty : throw Error("mapping keys must be plain strings");
            var childPath = string.IsNullOrEmpty(Path) ? key : $"{Path}.{key}";
            entries.Add(new(key, new ConfigNode(pair.Value, childPath, _file, (int)pair.Value.Start.Line, (int)pair.Value.Start.Column)));
        }

        return entries;
    }

    /// <summary>Fails on any key not in <paramref name="accepted"/>, listing the accepted keys.</summary>
    /// <param name="accepted">The keys this section accepts.</param>
    /// <returns>This node.</returns>
    public ConfigNode AllowOnly(params string[] accepted)
    {
        var mapping = RequireMappingOrMissing();
        if (mapping is null)
        {
            return this;
        }

        foreach (var pair in mapping.Children)
        {
            var key = (pair.Key as YamlScalarNode)?.Value ?? string.Empty;
            if (Array.IndexOf(accepted, key) < 0)
            {
                var childPath = string.IsNullOrEmpty(Path) ? key : $"{Path}.{key}";
                throw new ConfigException(_file, childPath, (int)pair.Key.Start.Line, (int)pair.Key.Start.Column,
                    $"unknown key '{key}'; accepted keys here: {string.Join(", ", accepted)}");
            }
        }

        return this;
    }

    /// <summary>The scalar as a string, or <paramref name="fallback"/> when missing.</summary>
    /// <param name="fallback">The default.</param>
    /// <returns>The value.</returns>
    public string? AsString(string? fallback = null)
    {
        if (IsMissing)
        {
            return fallback;
        }

        return _node is YamlScalarNode scalar ? scalar.Value : throw Error($"expected a single value, found {Describe()}");
    }

    /// <summary>The scalar as a string; fails when missing.</summary>
    /// <returns>The value.</returns>
    public string RequireString()
    {
        var value = AsString();
        if (string.IsNullOrEmpty(value))
        {
            throw Error("is required");
        }

        return value;
    }

    /// <summary>The scalar as an integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <param name="min">Smallest accepted value.</param>
    /// <param name="max">Largest accepted value.</param>
    /// <returns>The value.</returns>
    public long AsInt64(long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        var text = AsString();
        if (text is null)
        {
            return fallback;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw Error($"'{text}' is not an integer");
        }

        if (value < min || value > max)
        {
            throw Error($"{value} is out of range; accepted: {min} to {max}");
        }

        return value;
    }

    /// <summary>The scalar as an integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <param name="min">Smallest accepted value.</param>
    /// <param name="max">Largest accepted value.</param>
    /// <returns>The value.</returns>
    public int AsInt32(int fallback, int min = int.MinValue, int max = int.MaxValue) => (int)AsInt64(fallback, min, max);

    /// <summary>The scalar as a number.</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <returns>The value.</returns>
    public double AsDouble(double fallback)
    {
        var text = AsString();
        if (text is null)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw Error($"'{text}' is not a number");
    }

    /// <summary>The scalar as a boolean (<c>true</c>/<c>false</c>).</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <returns>The value.</returns>
    public bool AsBool(bool fallback)
    {
        var text = AsString();
        if (text is null)
        {
            return fallback;
        }

        return text.ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Error($"'{text}' is not a boolean; accepted: true, false"),
        };
    }

    /// <summary>The scalar as a Go-style duration (<c>500ms</c>, <c>10s</c>, <c>1h30m</c>; a bare number is seconds).</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <param name="allowZero">Whether 0 is accepted.</param>
    /// <returns>The value.</returns>
    public TimeSpan AsDuration(TimeSpan fallback, bool allowZero = true)
    {
        var text = AsString();
        if (text is null)
        {
            return fallback;
        }

        if (!GoDuration.TryParse(text, out TimeSpan value, bareSeconds: true))
        {
            throw Error($"'{text}' is not a duration; accepted: a number with a unit, e.g. 500ms, 10s, 5m, 1h30m");
        }

        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
        {
            throw Error($"'{text}' must be {(allowZero ? "zero or positive" : "positive")}");
        }

        return value;
    }

    /// <summary>The scalar as a byte size (<c>1048576</c>, <c>256KB</c>, <c>1MiB</c>).</summary>
    /// <param name="fallback">The default when missing.</param>
    /// <returns>The value in bytes.</returns>
    public long AsByteSize(long fallback)
    {
        var text = AsString();
        if (text is null)
        {
            return fallback;
        }

        return ByteSize.TryParse(text, ByteUnits.Binary, out long value) && value >= 0
            ? value
            : throw Error($"'{text}' is not a byte size; accepted: a number of bytes or one with a unit, e.g. 1048576, 256KB, 1MiB");
    }

    /// <summary>The mapping as string keys and values (for label maps and headers).</summary>
    /// <returns>The map, in file order.</returns>
    public IReadOnlyList<KeyValuePair<string, string>> AsStringMap()
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in Entries())
        {
            result.Add(new(key, value.AsString() ?? string.Empty));
        }

        return result;
    }

    /// <summary>The sequence as strings (a single scalar counts as a one-item list).</summary>
    /// <returns>The strings.</returns>
    public IReadOnlyList<string> AsStringList()
    {
        if (IsMissing)
        {
            return [];
        }

        if (_node is YamlScalarNode)
        {
            return [AsString()!];
        }

        return [.. Items().Select(i => i.AsString() ?? string.Empty)];
    }

    /// <summary>An error at this node.</summary>
    /// <param name="problem">What is wrong and what would be accepted.</param>
    /// <returns>The exception to throw.</returns>
    public ConfigException Error(string problem) => new(_file, Path, Line, Column, problem);

    /// <summary>Parses one YAML document (with the node model: no reflection, so trimmed and AOT hosts can use it).</summary>
    /// <param name="yaml">The text.</param>
    /// <param name="file">The file it came from, for error messages; or <see langword="null"/>.</param>
    /// <returns>The root node (missing when the document is empty).</returns>
    /// <exception cref="ConfigException">The text is not valid YAML or holds several documents; the message says where.</exception>
    public static ConfigNode Parse(string yaml, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ConfigException(file, string.Empty, (int)ex.Start.Line, (int)ex.Start.Column, $"not valid YAML: {ex.InnerException?.Message ?? ex.Message}");
        }

        if (stream.Documents.Count == 0)
        {
            return new ConfigNode(null, string.Empty, file, 1, 1);
        }

        if (stream.Documents.Count > 1)
        {
            throw new ConfigException(file, string.Empty, (int)stream.Documents[1].RootNode.Start.Line, 1, "expected one YAML document, found several");
        }

        var rootNode = stream.Documents[0].RootNode;
        return new ConfigNode(rootNode, string.Empty, file, (int)rootNode.Start.Line, (int)rootNode.Start.Column);
    }

    private YamlMappingNode? RequireMappingOrMissing()
    {
        if (IsMissing)
        {
            return null;
        }

        return _node as YamlMappingNode ?? throw Error($"expected a mapping of keys to values, found {Describe()}");
    }

    private string Describe() => _node switch
    {
        YamlScalarNode s => $"the value '{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "nothing",
    };

    private static bool IsNullScalar(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && (scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");
}
