using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>Shared validation of option values.</summary>
internal static class OptionNames
{
    public static void RequireLabelName(string? name, string stage, string field)
    {
        if (name is null || !Label.IsValidName(name))
        {
            throw new StageOptionsException(stage, field, name, "a label name matching [a-zA-Z_][a-zA-Z0-9_]*");
        }
    }

    public static void RequireSource(string? source, string stage, string field = "source")
    {
        if (string.IsNullOrEmpty(source))
        {
            throw new StageOptionsException(stage, field, source, "the name of an extracted value");
        }
    }

    public static void OptionalSource(string? source, string stage, string field = "source")
    {
        if (source is { Length: 0 })
        {
            throw new StageOptionsException(stage, field, source, "the name of an extracted value, or no source to use the line");
        }
    }
}
