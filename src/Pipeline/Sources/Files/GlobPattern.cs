namespace Pipeline.Sources.Files;

/// <summary>
/// A path glob in Promtail's (doublestar's) syntax: <c>*</c> and <c>?</c> within a path segment, <c>[abc]</c>,
/// <c>[a-z]</c>, <c>[!x]</c>, <c>{a,b}</c> alternatives, and <c>**</c> for any number of directories.
/// </summary>
internal sealed class GlobPattern
{
    private readonly string[][] _alternatives;

    private GlobPattern(string text, string[][] alternatives)
    {
        Text = text;
        _alternatives = alternatives;
    }

    /// <summary>The pattern as given.</summary>
    public string Text { get; }

    /// <summary>Each brace alternative, as path segments (the first is empty for an absolute path).</summary>
    public IReadOnlyList<string[]> Alternatives => _alternatives;

    /// <summary>Parses a pattern.</summary>
    /// <param name="pattern">The pattern; relative patterns are made absolute against the current directory.</param>
    /// <returns>The pattern.</returns>
    /// <exception cref="ArgumentException">The pattern is empty or has an unbalanced <c>[</c> or <c>{</c>.</exception>
    public static GlobPattern Parse(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var expanded = new List<string>();
        ExpandBraces(pattern, expanded);
        var alternatives = new string[expanded.Count][];
        for (var i = 0; i < expanded.Count; i++)
        {
            var text = expanded[i];
            if (!Path.IsPathRooted(text))
            {
                text = Path.Combine(Directory.GetCurrentDirectory(), text);
            }

            alternatives[i] = text.Split('/');
            foreach (var segment in alternatives[i])
            {
                if (segment.Contains('[', StringComparison.Ordinal) && !IsBalanced(segment))
                {
                    throw new ArgumentException($"Glob pattern '{pattern}' has an unterminated '[' in '{segment}'.", nameof(pattern));
                }
            }
        }

        return new GlobPattern(pattern, alternatives);
    }

    /// <summary>Whether a segment has wildcard characters.</summary>
    /// <param name="segment">A path segment.</param>
    /// <returns>Whether it needs matching rather than a lookup.</returns>
    public static bool HasWildcard(string segment) => segment.AsSpan().IndexOfAny("*?[") >= 0;

    /// <summary>Whether <paramref name="path"/> (absolute, '/'-separated) matches.</summary>
    /// <param name="path">The path.</param>
    /// <returns>Whether it matches any alternative.</returns>
    public bool IsMatch(string path)
    {
        var segments = path.Split('/');
        foreach (var alternative in _alternatives)
        {
            if (MatchSegments(alternative, 0, segments, 0))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether one path segment matches one pattern segment (no <c>**</c>).</summary>
    /// <param name="pattern">The pattern segment.</param>
    /// <param name="name">The name.</param>
    /// <returns>Whether it matches.</returns>
    public static bool MatchSegment(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        // Iterative wildcard matching with single-star backtracking: linear for the patterns globs use.
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starN = n;
                continue;
            }

            if (p < pattern.Length && MatchOne(pattern, ref p, name[n]))
            {
                n++;
                continue;
            }

            if (starP < 0)
            {
                return false;
            }

            p = starP + 1;
            n = ++starN;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool MatchOne(ReadOnlySpan<char> pattern, ref int p, char c)
    {
        switch (pattern[p])
        {
            case '?':
                p++;
                return true;
            case '[':
                var end = pattern[(p + 1)..].IndexOf(']');
                if (end < 0)
                {
                    return false;
                }

                var set = pattern.Slice(p + 1, end);
                var negate = set.Length > 0 && set[0] is '!' or '^';
                if (negate)
                {
                    set = set[1..];
                }

                var found = false;
                for (var i = 0; i < set.Length; i++)
                {
                    if (i + 2 < set.Length && set[i + 1] == '-')
                    {
                        found |= c >= set[i] && c <= set[i + 2];
                        i += 2;
                    }
                    else
                    {
                        found |= c == set[i];
                    }
                }

                if (found == negate)
                {
                    return false;
                }

                p += end + 2;
                return true;
            case '\\' when p + 1 < pattern.Length:
                if (pattern[p + 1] != c)
                {
                    return false;
                }

                p += 2;
                return true;
            default:
                if (pattern[p] != c)
                {
                    return false;
                }

                p++;
                return true;
        }
    }

    private static bool MatchSegments(string[] pattern, int p, string[] path, int n)
    {
        while (p < pattern.Length)
        {
            if (pattern[p] == "**")
            {
                // '**' matches zero or more whole segments.
                for (var skip = n; skip <= path.Length; skip++)
                {
                    if (MatchSegments(pattern, p + 1, path, skip))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (n >= path.Length || !MatchSegment(pattern[p], path[n]))
            {
                return false;
            }

            p++;
            n++;
        }

        return n == path.Length;
    }

    private static void ExpandBraces(string pattern, List<string> output)
    {
        var open = pattern.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            output.Add(pattern);
            return;
        }

        var depth = 0;
        var options = new List<string>();
        var start = open + 1;
        for (var i = open; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                options.Add(pattern[start..i]);
                foreach (var option in options)
                {
                    ExpandBraces(string.Concat(pattern.AsSpan(0, open), option, pattern.AsSpan(i + 1)), output);
                }

                return;
            }
            else if (c == ',' && depth == 1)
            {
                options.Add(pattern[start..i]);
                start = i + 1;
            }
        }

        throw new ArgumentException($"Glob pattern '{pattern}' has an unterminated '{{'.", nameof(pattern));
    }

    private static bool IsBalanced(string segment)
    {
        var open = false;
        foreach (var c in segment)
        {
            if (c == '[')
            {
                open = true;
            }
            else if (c == ']')
            {
                open = false;
            }
        }

        return !open;
    }
}
