using System.Text.RegularExpressions;

namespace Pipeline.LogQL.Templates;

/// <summary>One call of a template function: its name, its evaluated arguments (a piped value comes last) and the entry.</summary>
internal readonly ref struct TemplateCall
{
    private readonly GoTemplate _template;

    public TemplateCall(GoTemplate template, string name, ReadOnlySpan<object?> args, ITemplateData data)
    {
        _template = template;
        Name = name;
        Args = args;
        Data = data;
    }

    public string Name { get; }

    public ReadOnlySpan<object?> Args { get; }

    public ITemplateData Data { get; }

    /// <summary>Checks the number of arguments, as Go does before calling.</summary>
    /// <exception cref="TemplateExecutionException">Too few or too many.</exception>
    public void Arity(int min, int max)
    {
        if (Args.Length < min || Args.Length > max)
        {
            throw new TemplateExecutionException($"wrong number of args for {Name}: want {(min == max ? min.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{min} or more")} got {Args.Length}");
        }
    }

    /// <summary>Argument <paramref name="index"/> as a string (numbers and booleans as their text).</summary>
    /// <exception cref="TemplateExecutionException">The argument is a missing value.</exception>
    public string String(int index) => Args[index] switch
    {
        string s => s,
        null => throw new TemplateExecutionException($"{Name}: invalid value; expected string"),
        var other => GoTemplate.Format(other),
    };

    /// <summary>Argument <paramref name="index"/> as an integer (a numeric string is accepted).</summary>
    /// <exception cref="TemplateExecutionException">The argument is not a number.</exception>
    public long Integer(int index) => Args[index] switch
    {
        long l => l,
        double d when d == Math.Floor(d) => (long)d,
        string s when long.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l) => l,
        var other => throw new TemplateExecutionException($"{Name}: expected an integer, got {GoTemplate.Format(other)}"),
    };

    /// <summary>The compiled RE2 pattern of argument <paramref name="index"/> (literal patterns were compiled with the template).</summary>
    /// <exception cref="TemplateExecutionException">The pattern is invalid.</exception>
    public Regex Regex(int index) => _template.GetRegex(String(index));
}
