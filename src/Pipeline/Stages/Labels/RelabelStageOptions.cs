namespace Pipeline.Stages.Labels;

/// <summary>Options of the relabel stage (<see cref="RelabelStage"/>): Prometheus <c>relabel_configs</c>, applied in order.</summary>
public sealed class RelabelStageOptions
{
    /// <summary>The rules, applied in order.</summary>
    public IList<RelabelRule> Configs { get; init; } = [];
}

/// <summary>One Prometheus relabel rule, with Prometheus' field names and defaults.</summary>
public sealed class RelabelRule
{
    /// <summary>The default <see cref="Separator"/>.</summary>
    public const string DefaultSeparator = ";";

    /// <summary>The default <see cref="Regex"/>.</summary>
    public const string DefaultRegex = "(.*)";

    /// <summary>The default <see cref="Replacement"/>.</summary>
    public const string DefaultReplacement = "$1";

    /// <summary>The default <see cref="Action"/>.</summary>
    public const string DefaultAction = "replace";

    /// <summary><c>source_labels</c>: labels whose values are joined with <see cref="Separator"/> (a missing label is empty).</summary>
    public IList<string>? SourceLabels { get; init; }

    /// <summary><c>separator</c>: placed between source label values.</summary>
    public string? Separator { get; set; }

    /// <summary><c>regex</c>: matched against the joined value (anchored at both ends, RE2 syntax).</summary>
    public string? Regex { get; set; }

    /// <summary><c>target_label</c>: the label written by <c>replace</c>, <c>hashmod</c>, <c>lowercase</c>, <c>uppercase</c>; may use <c>$1</c>/<c>${name}</c> with <c>replace</c>.</summary>
    public string? TargetLabel { get; set; }

    /// <summary><c>replacement</c>: the value written by <c>replace</c> (or the name by <c>labelmap</c>), with <c>$1</c>/<c>${name}</c>.</summary>
    public string? Replacement { get; set; }

    /// <summary><c>modulus</c>: for <c>hashmod</c>.</summary>
    public ulong Modulus { get; set; }

    /// <summary><c>action</c>: replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase.</summary>
    public string? Action { get; set; }
}
