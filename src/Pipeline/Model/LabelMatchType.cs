namespace Pipeline.Model;

/// <summary>How a <see cref="LabelMatcher"/> compares a label value.</summary>
public enum LabelMatchType
{
    /// <summary><c>=</c>: equal.</summary>
    Equal = 0,

    /// <summary><c>!=</c>: not equal.</summary>
    NotEqual = 1,

    /// <summary><c>=~</c>: fully anchored regular expression match.</summary>
    Regex = 2,

    /// <summary><c>!~</c>: fully anchored regular expression mismatch.</summary>
    NotRegex = 3,
}
