namespace Pipeline.Model;

/// <summary>One label of a stream: a name and its value.</summary>
/// <param name="Name">The label name; valid names match <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</param>
/// <param name="Value">The label value; any Unicode text.</param>
public readonly record struct Label(string Name, string Value)
{
    /// <summary>Prefix of internal labels (for example <c>__path__</c>) that never leave the agent.</summary>
    public const string InternalPrefix = "__";

    /// <summary>Whether this label is internal (its name starts with <c>__</c>) and is dropped before a push.</summary>
    public bool IsInternal => Name.StartsWith(InternalPrefix, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a valid Prometheus/Loki label name.</summary>
    /// <param name="name">The name to check.</param>
    /// <returns><see langword="true"/> when the name matches <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</returns>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}=\"{LabelText.EscapeValue(Value)}\"";
}
