namespace Pipeline.Prometheus.Exposition;

/// <summary>Turns OpenTelemetry instrument names, units and tag keys into Prometheus names.</summary>
internal static class PrometheusNaming
{
    /// <summary>
    /// The family name of an instrument: invalid characters become <c>_</c>, a known unit adds its suffix
    /// (<c>s</c> -> <c>_seconds</c>, <c>By</c> -> <c>_bytes</c>) unless the name has it already, and a counter's
    /// <c>_total</c> is taken off (the writer adds it to the samples).
    /// </summary>
    public static string GetFamilyName(string instrumentName, string? unit, MetricKind kind)
    {
        var name = SanitizeMetricName(instrumentName);
        var hadTotal = false;
        if (kind == MetricKind.Counter && name.EndsWith("_total", StringComparison.Ordinal) && name.Length > "_total".Length)
        {
            name = name[..^"_total".Length];
            hadTotal = true;
        }

        var suffix = GetUnitSuffix(unit);
        if (suffix is not null && !hadTotal && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return name;
    }

    /// <summary>Replaces characters outside <c>[a-zA-Z0-9_:]</c> with <c>_</c>; a leading digit gets a <c>_</c> before it.</summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>Replaces characters outside <c>[a-zA-Z0-9_]</c> with <c>_</c>; a leading digit gets a <c>_</c> before it.</summary>
    public static string SanitizeLabelName(string name) => Sanitize(name, allowColon: false);

    private static string? GetUnitSuffix(string? unit) => unit switch
    {
        "s" => "_seconds",
        "ms" => "_milliseconds",
        "By" => "_bytes",
        _ => null,
    };

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var valid = !char.IsAsciiDigit(name[0]);
        foreach (var c in name)
        {
            if (!IsValid(c, allowColon))
            {
                valid = false;
                break;
            }
        }

        if (valid)
        {
            return name;
        }

        var prefix = char.IsAsciiDigit(name[0]) ? 1 : 0;
        return string.Create(name.Length + prefix, (name, allowColon, prefix), static (span, state) =>
        {
            span[0] = '_';
            for (var i = 0; i < state.name.Length; i++)
            {
                var c = state.name[i];
                span[i + state.prefix] = IsValid(c, state.allowColon) ? c : '_';
            }
        });
    }

    private static bool IsValid(char c, bool allowColon) =>
        char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
}
