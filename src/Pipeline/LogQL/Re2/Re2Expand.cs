using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.LogQL.Re2;

/// <summary>Go's <c>Regexp.Expand</c> template semantics over a .NET match: <c>$1</c>, <c>${1}</c>, <c>$name</c>, <c>${name}</c>, <c>$$</c>.</summary>
/// <remarks>As in Go, <c>$1x</c> names the group <c>1x</c> (usually empty); write <c>${1}x</c> for group 1 then "x".
/// A malformed reference (<c>${</c> without <c>}</c>, <c>$</c> before a non-name character) is copied as text.</remarks>
internal static class Re2Expand
{
    public static void Expand(StringBuilder output, string template, Regex regex, Match match)
    {
        var i = 0;
        while (i < template.Length)
        {
            var dollar = template.IndexOf('$', i);
            if (dollar < 0)
            {
                output.Append(template, i, template.Length - i);
                return;
            }

            output.Append(template, i, dollar - i);
            i = dollar + 1;
            if (i < template.Length && template[i] == '$')
            {
                output.Append('$');
                i++;
                continue;
            }

            if (!TryExtract(template, i, out var name, out var next))
            {
                output.Append('$');
                continue;
            }

            i = next;
            var number = -1;
            if (IsAllDigits(name) && name.Length < 9)
            {
                number = int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                number = regex.GroupNumberFromName(name);
            }

            if (number >= 0 && number < match.Groups.Count)
            {
                var group = match.Groups[number];
                if (group.Success)
                {
                    output.Append(group.ValueSpan);
                }
            }
        }
    }

    /// <summary>Whether a template refers to any group (Prometheus' check for target_label).</summary>
    public static bool HasReference(string template)
    {
        for (var i = template.IndexOf('$'); i >= 0 && i < template.Length; i = template.IndexOf('$', i + 1))
        {
            if (TryExtract(template, i + 1, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryExtract(string s, int start, out string name, out int next)
    {
        name = string.Empty;
        next = start;
        if (start >= s.Length)
        {
            return false;
        }

        var brace = s[start] == '{';
        var i = brace ? start + 1 : start;
        var nameStart = i;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_'))
        {
            i++;
        }

        if (i == nameStart)
        {
            return false;
        }

        name = s[nameStart..i];
        if (brace)
        {
            if (i >= s.Length || s[i] != '}')
            {
                return false;
            }

            i++;
        }

        next = i;
        return true;
    }

    private static bool IsAllDigits(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return s.Length > 0;
    }
}
