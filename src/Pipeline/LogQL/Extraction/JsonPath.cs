using System.Globalization;
using System.Text;

namespace Pipeline.LogQL.Extraction;

/// <summary>
/// The path syntax of JSON extraction, shared by Promtail's <c>json</c> expressions (the JMESPath forms used in
/// practice) and LogQL's <c>| json label="path"</c>: keys separated by dots (<c>a.b</c>), array indexes
/// (<c>a[0]</c>), quoted keys (<c>"a.b"</c>, <c>a."b-c"</c>) and bracketed keys (<c>a["b c"]</c>, <c>a['b']</c>).
/// </summary>
internal static class JsonPath
{
    private const string Expected = "a path of keys and indexes such as a.b, a[0].c, \"quoted.key\" or a[\"key\"] (functions, wildcards, slices and filters are not supported)";

    /// <summary>Parses a path into its steps: a key, or an array index (with a null key).</summary>
    /// <exception cref="FormatException">The path is empty or not of the supported forms; the message says where.</exception>
    public static List<(string? Key, int Index)> Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var steps = new List<(string? Key, int Index)>();
        var i = 0;
        var needKey = true;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (needKey)
            {
                if (c == '"')
                {
                    steps.Add((ReadQuoted(expression, ref i, '"'), -1));
                }
                else if (char.IsAsciiLetter(c) || c == '_')
                {
                    var start = i;
                    while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '_'))
                    {
                        i++;
                    }

                    steps.Add((expression[start..i], -1));
                }
                else if (c == '[' && steps.Count == 0)
                {
                    i = Bracket(expression, i, steps);
                }
                else
                {
                    throw Invalid($"unexpected '{c}' at position {i}");
                }

                needKey = false;
                continue;
            }

            if (c == '.')
            {
                needKey = true;
                i++;
                continue;
            }

            if (c == '[')
            {
                i = Bracket(expression, i, steps);
                continue;
            }

            throw Invalid($"unexpected '{c}' at position {i}");
        }

        if (needKey)
        {
            throw Invalid("the path is empty or ends with '.'");
        }

        return steps;
    }

    /// <summary>Reads <c>[N]</c>, <c>["key"]</c> or <c>['key']</c> at <paramref name="i"/>; returns the position after it.</summary>
    private static int Bracket(string expression, int i, List<(string? Key, int Index)> steps)
    {
        var at = i;
        i++;
        if (i < expression.Length && expression[i] is '"' or '\'')
        {
            var key = ReadQuoted(expression, ref i, expression[i]);
            if (i >= expression.Length || expression[i] != ']')
            {
                throw Invalid($"expected ']' after the key at position {at}");
            }

            steps.Add((key, -1));
            return i + 1;
        }

        var end = expression.IndexOf(']', i);
        if (end < 0 || !int.TryParse(expression.AsSpan(i, end - i), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            throw Invalid($"expected a non-negative index or a quoted key in [...] at position {at}");
        }

        steps.Add((null, index));
        return end + 1;
    }

    private static string ReadQuoted(string expression, ref int i, char quote)
    {
        var at = i;
        var builder = new StringBuilder();
        i++;
        while (i < expression.Length && expression[i] != quote)
        {
            if (expression[i] == '\\' && i + 1 < expression.Length)
            {
                i++;
            }

            builder.Append(expression[i]);
            i++;
        }

        if (i >= expression.Length)
        {
            throw Invalid($"unterminated quoted key at position {at}");
        }

        i++;
        return builder.ToString();
    }

    private static FormatException Invalid(string what) => new($"{what}; expected {Expected}");
}
