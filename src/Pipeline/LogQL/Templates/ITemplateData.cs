namespace Pipeline.LogQL.Templates;

/// <summary>What a <see cref="GoTemplate"/> reads while it renders one entry.</summary>
internal interface ITemplateData
{
    /// <summary>The line of the entry, for LogQL's <c>__line__</c>.</summary>
    string Line { get; }

    /// <summary>The entry's timestamp in Unix nanoseconds, for LogQL's <c>__timestamp__</c>.</summary>
    long Timestamp { get; }

    /// <summary>
    /// The value of <c>.name</c> (<c>.</c> asks for the name ""), or <see langword="null"/> when there is none. As with
    /// Go's map data, a missing value prints <c>&lt;no value&gt;</c> and is an error as a function argument; data that
    /// returns "" instead behaves like Go's <c>missingkey=zero</c> (what LogQL does).
    /// </summary>
    /// <param name="name">The field name.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    string? Field(string name);
}
