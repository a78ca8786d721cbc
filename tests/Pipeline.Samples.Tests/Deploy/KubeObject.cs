using YamlDotNet.RepresentationModel;

namespace Pipeline.Samples.Tests.Deploy;

/// <summary>One Kubernetes object read from a manifest file (one YAML document).</summary>
internal sealed record KubeObject(string File, int Line, string ApiVersion, string Kind, string Name, string? Namespace, YamlMappingNode Root)
{
    public string Where => $"{System.IO.Path.GetFileName(File)}:{Line} {Kind} {(Namespace is null ? string.Empty : Namespace + "/")}{Name}";

    /// <summary>Every document of every *.yaml / *.yml file under the <c>deploy</c> folders of <c>samples/*</c>.</summary>
    public static IReadOnlyList<KubeObject> LoadSamples()
    {
        var files = Directory.GetDirectories(RepositoryRoot.Combine("samples"))
            .Select(sample => Path.Combine(sample, "deploy"))
            .Where(Directory.Exists)
            .SelectMany(deploy => Directory.EnumerateFiles(deploy, "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        return [.. files.SelectMany(f => Parse(System.IO.File.ReadAllText(f), f))];
    }

    /// <summary>Parses the documents of one manifest file; each must be a mapping with apiVersion, kind and metadata.name.</summary>
    public static IReadOnlyList<KubeObject> Parse(string text, string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var objects = new List<KubeObject>();
        foreach (var document in stream.Documents)
        {
            var line = (int)document.RootNode.Start.Line;
            if (document.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (document.RootNode is not YamlMappingNode root)
            {
                throw new InvalidDataException($"{file}:{line}: a manifest document must be a mapping");
            }

            objects.Add(new KubeObject(
                file,
                line,
                Yaml.Str(root, "apiVersion") ?? throw new InvalidDataException($"{file}:{line}: apiVersion is missing"),
                Yaml.Str(root, "kind") ?? throw new InvalidDataException($"{file}:{line}: kind is missing"),
                Yaml.Str(root, "metadata", "name") ?? throw new InvalidDataException($"{file}:{line}: metadata.name is missing"),
                Yaml.Str(root, "metadata", "namespace"),
                root));
        }

        return objects;
    }
}

/// <summary>Small navigation helpers over YamlDotNet's representation model.</summary>
internal static class Yaml
{
    public static YamlNode? Get(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? Str(YamlNode? node, params string[] path) => (Get(node, path) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Seq(YamlNode? node, params string[] path) =>
        Get(node, path) is YamlSequenceNode sequence ? sequence.Children : [];

    public static Dictionary<string, string> Map(YamlNode? node, params string[] path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Get(node, path) is YamlMappingNode mapping)
        {
            foreach (var (key, value) in mapping.Children)
            {
                result[((YamlScalarNode)key).Value!] = (value as YamlScalarNode)?.Value ?? string.Empty;
            }
        }

        return result;
    }

    public static YamlMappingNode ParseMapping(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode mapping
            ? mapping
            : throw new InvalidDataException("expected one YAML document holding a mapping");
    }
}
