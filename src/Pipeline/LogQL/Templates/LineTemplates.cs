namespace Pipeline.LogQL.Templates;

/// <summary>The templates of <c>line_format</c> and <c>label_format</c>: the shared Go-template engine with LogQL's functions.</summary>
internal static class LineTemplates
{
    /// <exception cref="FormatException">The template is invalid; the message is Loki's <c>invalid template '...': ...</c>.</exception>
    public static GoTemplate Parse(string text)
    {
        try
        {
            return GoTemplate.Parse(text, TemplateFunctions.LogQL);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"invalid template '{text}': {ex.Message}", ex);
        }
    }
}
