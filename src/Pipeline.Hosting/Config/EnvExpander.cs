using System.Text;

namespace Pipeline.Hosting.Config;

/// <summary>
/// Expands <c>${VAR}</c>, <c>${VAR:-default}</c> and Promtail's <c>${VAR:default}</c> in a configuration's text
/// (Promtail's <c>-config.expand-env=true</c>); an undefined variable without a default becomes empty, and
/// <c>$$</c> is a literal <c>$</c>.
/// </summary>
public static class EnvExpander
{
    /// <summary>Expands environment references.</summary>
    /// <param name="text">The configuration text.</param>
    /// <param name="lookup">Reads a variable; the process environment when <see langword="null"/>.</param>
    /// <returns>The expanded text.</returns>
    public static string Expand(string text, Func<string, string?>? lookup = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        lookup ??= Environment.GetEnvironmentVariable;
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                result.Append(c);
                continue;
            }

            if (text[i + 1] == '$')
            {
                result.Append('$');
                i++;
                continue;
            }

            if (text[i + 1] != '{')
            {
                result.Append(c);
                continue;
            }

            var close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                result.Append(c);
                continue;
            }

            var body = text.AsSpan(i + 2, close - i - 2);
            string name;
            string? fallback = null;
            var colon = body.IndexOf(':');
            if (colon >= 0)
            {
                name = body[..colon].ToString();
                var rest = body[(colon + 1)..];
                fallback = (rest.StartsWith("-") ? rest[1..] : rest).ToString();
            }
            else
            {
                name = body.ToString();
            }

            var value = lookup(name);
            result.Append(string.IsNullOrEmpty(value) ? fallback ?? string.Empty : value);
            i = close;
        }

        return result.ToString();
    }
}
