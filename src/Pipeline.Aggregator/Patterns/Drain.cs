using System.Buffers;
using System.Text;

namespace Pipeline.Aggregator.Patterns;

/// <summary>Limits of one <see cref="Drain"/> tree; the defaults are Loki's pattern ingester's.</summary>
internal sealed record DrainOptions
{
    /// <summary>The placeholder that stands for a variable token in a pattern.</summary>
    public const string Placeholder = "<_>";

    /// <summary>Depth of the prefix tree, counting the root and the token-count layer (Drain's depth; at least 3).</summary>
    public int Depth { get; init; } = 30;

    /// <summary>Share of equal tokens a line needs to join a cluster.</summary>
    public double SimilarityThreshold { get; init; } = 0.3;

    /// <summary>Most children of one tree node; further distinct tokens go down the placeholder branch.</summary>
    public int MaxChildren { get; init; } = 15;

    /// <summary>Most clusters kept; the least recently matched one is evicted for a new one.</summary>
    public int MaxClusters { get; init; } = 300;

    /// <summary>Lines longer than this (bytes) are not clustered.</summary>
    public int MaxLineLength { get; init; } = 3000;

    /// <summary>Lines with fewer tokens are not clustered.</summary>
    public int MinTokens { get; init; } = 4;

    /// <summary>Lines with more tokens are not clustered.</summary>
    public int MaxTokens { get; init; } = 80;
}

/// <summary>
/// A log cluster: the template of the lines that joined it (variable tokens replaced by <see cref="DrainOptions.Placeholder"/>),
/// how many joined (<see cref="Add"/>), and counts per time bucket.
/// </summary>
internal sealed class DrainCluster
{
    private readonly Dictionary<long, long> _samples = [];

    internal DrainCluster(string[] tokens, int[] spacesBefore, int trailingSpaces)
    {
        Tokens = tokens;
        SpacesBefore = spacesBefore;
        TrailingSpaces = trailingSpaces;
    }

    /// <summary>The template's tokens; a variable one is <see cref="DrainOptions.Placeholder"/>.</summary>
    public string[] Tokens { get; }

    /// <summary>Lines that joined this cluster.</summary>
    public long Count { get; private set; }

    /// <summary>Counts per bucket (bounded by the buckets of a query).</summary>
    public IReadOnlyDictionary<long, long> Samples => _samples;

    internal int[] SpacesBefore { get; }

    internal int TrailingSpaces { get; }

    internal LinkedListNode<DrainCluster>? Recency { get; set; }

    internal bool Evicted { get; set; }

    /// <summary>Counts one line in <paramref name="bucket"/>.</summary>
    public void Add(long bucket)
    {
        Count++;
        _samples[bucket] = _samples.GetValueOrDefault(bucket) + 1;
    }

    /// <summary>The template as text, with the first line's spacing and runs of adjacent placeholders collapsed to one.</summary>
    public string Pattern()
    {
        var builder = new StringBuilder();
        for (var i = 0; i < Tokens.Length; i++)
        {
            builder.Append(' ', SpacesBefore[i]);
            var token = Tokens[i];
            if (ReferenceEquals(token, DrainOptions.Placeholder) && builder.Length >= DrainOptions.Placeholder.Length
                && builder.ToString(builder.Length - DrainOptions.Placeholder.Length, DrainOptions.Placeholder.Length) == DrainOptions.Placeholder)
            {
                continue;
            }

            builder.Append(token);
        }

        builder.Append(' ', TrailingSpaces);
        return builder.ToString();
    }

    internal void MakeVariable(int index) => Tokens[index] = DrainOptions.Placeholder;
}

/// <summary>
/// The Drain log-parsing algorithm (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017) as
/// Loki's pattern detection uses it: a line is cut into tokens at spaces and punctuation (keeping <c>_ - . : /</c> inside
/// tokens and <c>=</c> as a token of its own); a tree keyed first by the token count, then by the leading tokens (tokens with
/// digits, and tokens past <see cref="DrainOptions.MaxChildren"/> distinct ones, share a placeholder branch) leads to a few
/// candidate clusters; the line joins the one with the most equal tokens if that share reaches
/// <see cref="DrainOptions.SimilarityThreshold"/> (tokens that differ become placeholders), else it starts a new cluster.
/// Memory is bounded by <see cref="DrainOptions.MaxClusters"/> (least recently matched evicted) and the line length limit.
/// </summary>
/// <remarks>Not thread-safe: one tree per query and level, fed by one reader.</remarks>
internal sealed class Drain : IDisposable
{
    private const int MaxTokenSlots = 128;

    private readonly DrainOptions _options;
    private readonly int _maxNodeDepth;
    private readonly Dictionary<int, Node> _byTokenCount = [];
    private readonly LinkedList<DrainCluster> _recency = new();
    private readonly int[] _starts = new int[MaxTokenSlots];
    private readonly int[] _lengths = new int[MaxTokenSlots];
    private readonly int[] _spaces = new int[MaxTokenSlots + 1];
    private char[] _chars;
    private int _tokenCount;
    private int _trailingSpaces;

    public Drain(DrainOptions? options = null)
    {
        _options = options ?? new DrainOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Depth, 3, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxChildren, 2, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxClusters, 1, nameof(options));
        _maxNodeDepth = _options.Depth - 2;
        _chars = ArrayPool<char>.Shared.Rent(_options.MaxLineLength);
    }

    /// <summary>The clusters kept, most recently matched first.</summary>
    public IEnumerable<DrainCluster> Clusters => _recency;

    /// <summary>Lines not clustered (too long, too few or too many tokens, not UTF-8).</summary>
    public long Skipped { get; private set; }

    /// <summary>Clusters evicted to make room.</summary>
    public long Evictions { get; private set; }

    /// <summary>Adds a line; returns the cluster it joined or started, or <see langword="null"/> when it is skipped.</summary>
    public DrainCluster? Train(ReadOnlySpan<byte> line)
    {
        if (line.Length > _options.MaxLineLength || !Tokenize(line))
        {
            Skipped++;
            return null;
        }

        if (_tokenCount < _options.MinTokens || _tokenCount > _options.MaxTokens)
        {
            Skipped++;
            return null;
        }

        var cluster = Search();
        if (cluster is null)
        {
            cluster = Create();
        }
        else
        {
            for (var i = 0; i < _tokenCount; i++)
            {
                if (!ReferenceEquals(cluster.Tokens[i], DrainOptions.Placeholder) && !cluster.Tokens[i].AsSpan().SequenceEqual(Token(i)))
                {
                    cluster.MakeVariable(i);
                }
            }

            _recency.Remove(cluster.Recency!);
            _recency.AddFirst(cluster.Recency!);
        }

        return cluster;
    }

    public void Dispose()
    {
        if (_chars.Length > 0)
        {
            ArrayPool<char>.Shared.Return(_chars);
            _chars = [];
        }
    }

    private ReadOnlySpan<char> Token(int i) => _chars.AsSpan(_starts[i], _lengths[i]);

    /// <summary>Cuts the line into tokens (ranges of <see cref="_chars"/>) and the spaces before each.</summary>
    private bool Tokenize(ReadOnlySpan<byte> line)
    {
        int length;
        try
        {
            length = Utf8Decoder.GetChars(line, _chars);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        _tokenCount = 0;
        _trailingSpaces = 0;
        var spaces = 0;
        var start = 0;
        var chars = _chars.AsSpan(0, length);
        for (var i = 0; i < chars.Length; i++)
        {
            if (_tokenCount >= MaxTokenSlots - 1)
            {
                break;
            }

            var c = chars[i];
            if (char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or ':' or '/')
            {
                continue;
            }

            if (c == ' ' || c == '=' || char.IsPunctuation(c))
            {
                if (i > start)
                {
                    AddToken(start, i - start, ref spaces);
                }

                if (c == ' ')
                {
                    spaces++;
                }
                else
                {
                    AddToken(i, 1, ref spaces);
                }

                start = i + 1;
            }
        }

        if (start < chars.Length)
        {
            AddToken(start, chars.Length - start, ref spaces);
        }

        _trailingSpaces = spaces;
        return true;
    }

    private void AddToken(int start, int length, ref int spaces)
    {
        _starts[_tokenCount] = start;
        _lengths[_tokenCount] = length;
        _spaces[_tokenCount] = spaces;
        spaces = 0;
        _tokenCount++;
    }

    /// <summary>Follows the leading tokens down the tree and picks the most similar cluster at the leaf.</summary>
    private DrainCluster? Search()
    {
        if (!_byTokenCount.TryGetValue(_tokenCount, out var node))
        {
            return null;
        }

        var depth = 1;
        for (var i = 0; i < _tokenCount; i++)
        {
            if (depth >= _maxNodeDepth || depth == _tokenCount)
            {
                break;
            }

            var next = node.Find(Token(i)) ?? node.Find(DrainOptions.Placeholder);
            if (next is null)
            {
                return null;
            }

            node = next;
            depth++;
        }

        DrainCluster? best = null;
        var bestSimilarity = -1.0;
        var bestParameters = -1;
        foreach (var cluster in node.Clusters)
        {
            if (cluster.Evicted)
            {
                continue;
            }

            var (similarity, parameters) = Similarity(cluster);
            if (similarity > bestSimilarity || (similarity == bestSimilarity && parameters > bestParameters))
            {
                best = cluster;
                bestSimilarity = similarity;
                bestParameters = parameters;
            }
        }

        return bestSimilarity >= _options.SimilarityThreshold ? best : null;
    }

    /// <summary>The share of the template's tokens equal to the line's (placeholders count as different), and the placeholders.</summary>
    private (double Similarity, int Parameters) Similarity(DrainCluster cluster)
    {
        int equal = 0, parameters = 0;
        for (var i = 0; i < _tokenCount; i++)
        {
            var token = cluster.Tokens[i];
            if (ReferenceEquals(token, DrainOptions.Placeholder))
            {
                parameters++;
            }
            else if (token.AsSpan().SequenceEqual(Token(i)))
            {
                equal++;
            }
        }

        return ((double)equal / _tokenCount, parameters);
    }

    private DrainCluster Create()
    {
        if (_recency.Count >= _options.MaxClusters)
        {
            var oldest = _recency.Last!.Value;
            _recency.RemoveLast();
            oldest.Evicted = true;
            Evictions++;
        }

        var tokens = new string[_tokenCount];
        var spaces = new int[_tokenCount];
        for (var i = 0; i < _tokenCount; i++)
        {
            tokens[i] = Token(i).ToString();
            spaces[i] = _spaces[i];
        }

        var cluster = new DrainCluster(tokens, spaces, _trailingSpaces);
        cluster.Recency = _recency.AddFirst(cluster);
        AddToTree(cluster);
        return cluster;
    }

    private void AddToTree(DrainCluster cluster)
    {
        var count = cluster.Tokens.Length;
        if (!_byTokenCount.TryGetValue(count, out var node))
        {
            node = new Node();
            _byTokenCount[count] = node;
        }

        var depth = 1;
        foreach (var token in cluster.Tokens)
        {
            if (depth >= _maxNodeDepth || depth >= count)
            {
                break;
            }

            var next = node.Find(token);
            if (next is null)
            {
                var wildcard = node.Find(DrainOptions.Placeholder);
                if (HasDigit(token))
                {
                    // Tokens with digits are likely variables: they share the placeholder branch.
                    next = wildcard ?? node.Add(DrainOptions.Placeholder);
                }
                else if (wildcard is not null)
                {
                    next = node.Children.Count < _options.MaxChildren ? node.Add(token) : wildcard;
                }
                else
                {
                    // Keep the last child slot for the placeholder branch.
                    next = node.Children.Count + 1 < _options.MaxChildren ? node.Add(token) : node.Add(DrainOptions.Placeholder);
                }
            }

            node = next;
            depth++;
        }

        node.Clusters.RemoveAll(static c => c.Evicted);
        node.Clusters.Add(cluster);
    }

    private static bool HasDigit(string token)
    {
        foreach (var c in token)
        {
            if (char.IsNumber(c))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly UTF8Encoding Utf8Decoder = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private sealed class Node
    {
        public List<(string Key, Node Child)> Children { get; } = [];

        public List<DrainCluster> Clusters { get; } = [];

        public Node? Find(ReadOnlySpan<char> key)
        {
            // A linear scan: fan-out is capped at MaxChildren, and most nodes have one child.
            foreach (var (childKey, child) in Children)
            {
                if (childKey.AsSpan().SequenceEqual(key))
                {
                    return child;
                }
            }

            return null;
        }

        public Node Add(string key)
        {
            var child = new Node();
            Children.Add((key, child));
            return child;
        }
    }
}
