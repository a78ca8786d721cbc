namespace Pipeline.LogQL.Templates;

/// <summary>A template failed while rendering one entry (a function given a missing value, a bad argument).</summary>
internal sealed class TemplateExecutionException : Exception
{
    public TemplateExecutionException()
    {
    }

    public TemplateExecutionException(string message)
        : base(message)
    {
    }

    public TemplateExecutionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
