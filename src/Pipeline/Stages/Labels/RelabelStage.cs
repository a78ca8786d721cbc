using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>
/// Prometheus <c>relabel_configs</c> as a stage, with Prometheus' semantics and defaults (separator <c>;</c>, regex
/// <c>(.*)</c> anchored, replacement <c>$1</c>, action <c>replace</c>; <c>hashmod</c> uses the last 8 bytes of the MD5
/// of the joined value, big-endian, modulo <c>modulus</c>). An entry a <c>keep</c>/<c>drop</c> rule rejects is dropped
/// with reason <c>relabel</c>. Results are cached per input label set, so relabeling costs once per stream.
/// </summary>
public sealed class RelabelStage : ILogStage
{
    /// <summary>The drop reason.</summary>
    public const string DropReason = "relabel";

    private static readonly HashSet<string> s_actions = new(StringComparer.Ordinal)
    {
        "replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase",
    };

    private readonly Rule[] _rules;
    private readonly LabelTransformCache _cache = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">A rule is invalid; the message names it by index, as <c>relabel_configs[i].field</c>.</exception>
    public RelabelStage(RelabelStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Configs is null || options.Configs.Count == 0)
        {
            throw new StageOptionsException("relabel", "relabel_configs", null, "at least one rule");
        }

        _rules = new Rule[options.Configs.Count];
        for (var i = 0; i < _rules.Length; i++)
        {
            _rules[i] = Rule.Create(options.Configs[i], $"relabel_configs[{i}]");
        }

        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public RelabelStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_cache.TryGet(entry.Labels, out var output))
        {
            output = Apply(entry.Labels);
            _cache.Add(entry.Labels, output);
        }

        if (output is null)
        {
            return StageResult.Drop(DropReason);
        }

        entry.Labels = output;
        return StageResult.Keep;
    }

    /// <summary>Applies the rules to a label set: the result, or <see langword="null"/> when a rule drops it.</summary>
    /// <param name="labels">The input labels.</param>
    /// <returns>The relabeled set, or <see langword="null"/>.</returns>
    public LabelSet? Apply(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var current = labels;
        foreach (var rule in _rules)
        {
            current = rule.Apply(current);
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    private sealed class Rule
    {
        private readonly string[] _sources;
        private readonly string _separator;
        private readonly Regex _regex;
        private readonly string _target;
        private readonly string _replacement;
        private readonly ulong _modulus;
        private readonly string _action;

        private Rule(string[] sources, string separator, Regex regex, string target, string replacement, ulong modulus, string action)
        {
            _sources = sources;
            _separator = separator;
            _regex = regex;
            _target = target;
            _replacement = replacement;
            _modulus = modulus;
            _action = action;
        }

        public static Rule Create(RelabelRule rule, string path)
        {
            ArgumentNullException.ThrowIfNull(rule);
            var action = (rule.Action ?? RelabelRule.DefaultAction).ToLowerInvariant();
            if (!s_actions.Contains(action))
            {
                throw new StageOptionsException("relabel", path + ".action", rule.Action, "one of " + string.Join(", ", s_actions));
            }

            if (action is "labeldrop" or "labelkeep"
                && (rule.SourceLabels is { Count: > 0 } || rule.TargetLabel is not null || rule.Modulus != 0 || rule.Separator is not null || rule.Replacement is not null))
            {
                throw new StageOptionsException("relabel", path + ".action", action, $"the {action} action takes only 'regex', no other fields");
            }

            if (action is "replace" or "hashmod" or "lowercase" or "uppercase" or "keepequal" or "dropequal" && string.IsNullOrEmpty(rule.TargetLabel))
            {
                throw new StageOptionsException("relabel", path + ".target_label", rule.TargetLabel, $"a target label for the {action} action");
            }

            var target = rule.TargetLabel ?? string.Empty;
            if (target.Length > 0 && !Label.IsValidName(target) && !(action == "replace" && Re2Expand.HasReference(target)))
            {
                throw new StageOptionsException("relabel", path + ".target_label", target, "a label name matching [a-zA-Z_][a-zA-Z0-9_]*" + (action == "replace" ? " or a template with $1/${name}" : string.Empty));
            }

            if (action == "hashmod" && rule.Modulus == 0)
            {
                throw new StageOptionsException("relabel", path + ".modulus", 0, "a modulus above 0 for the hashmod action");
            }

            var sources = rule.SourceLabels is null ? [] : rule.SourceLabels.ToArray();
            foreach (var source in sources)
            {
                OptionNames.RequireLabelName(source, "relabel", path + ".source_labels");
            }

            var regex = OptionRegex.Compile(rule.Regex ?? RelabelRule.DefaultRegex, "relabel", path + ".regex", anchor: true);
            return new Rule(sources, rule.Separator ?? RelabelRule.DefaultSeparator, regex, target, rule.Replacement ?? RelabelRule.DefaultReplacement, rule.Modulus, action);
        }

        public LabelSet? Apply(LabelSet labels)
        {
            switch (_action)
            {
                case "drop":
                    return _regex.IsMatch(Joined(labels)) ? null : labels;
                case "keep":
                    return _regex.IsMatch(Joined(labels)) ? labels : null;
                case "keepequal":
                    return string.Equals(Joined(labels), labels[_target] ?? string.Empty, StringComparison.Ordinal) ? labels : null;
                case "dropequal":
                    return string.Equals(Joined(labels), labels[_target] ?? string.Empty, StringComparison.Ordinal) ? null : labels;
                case "replace":
                {
                    var value = Joined(labels);
                    var match = _regex.Match(value);
                    if (!match.Success)
                    {
                        return labels;
                    }

                    var sb = new StringBuilder();
                    Re2Expand.Expand(sb, _target, _regex, match);
                    var target = sb.ToString();
                    if (!Label.IsValidName(target))
                    {
                        return labels;
                    }

                    sb.Clear();
                    Re2Expand.Expand(sb, _replacement, _regex, match);
                    return labels.ToBuilder().Set(target, sb.ToString()).Build();
                }

                case "lowercase":
                    return labels.ToBuilder().Set(_target, Joined(labels).ToLowerInvariant()).Build();
                case "uppercase":
                    return labels.ToBuilder().Set(_target, Joined(labels).ToUpperInvariant()).Build();
                case "hashmod":
                {
                    // MD5 for sharding compatibility with Prometheus, not for security.
#pragma warning disable CA5351
                    var hash = MD5.HashData(Encoding.UTF8.GetBytes(Joined(labels)));
#pragma warning restore CA5351
                    var mod = BinaryPrimitives.ReadUInt64BigEndian(hash.AsSpan(8)) % _modulus;
                    return labels.ToBuilder().Set(_target, mod.ToString(CultureInfo.InvariantCulture)).Build();
                }

                case "labelmap":
                {
                    var builder = labels.ToBuilder();
                    var sb = new StringBuilder();
                    foreach (var label in labels)
                    {
                        var match = _regex.Match(label.Name);
                        if (match.Success)
                        {
                            sb.Clear();
                            Re2Expand.Expand(sb, _replacement, _regex, match);
                            var name = sb.ToString();
                            if (Label.IsValidName(name))
                            {
                                builder.Set(name, label.Value);
                            }
                        }
                    }

                    return builder.Build();
                }

                case "labeldrop":
                case "labelkeep":
                {
                    var keep = _action == "labelkeep";
                    var builder = labels.ToBuilder();
                    foreach (var label in labels)
                    {
                        if (_regex.IsMatch(label.Name) != keep)
                        {
                            builder.Remove(label.Name);
                        }
                    }

                    return builder.Build();
                }

                default:
                    return labels;
            }
        }

        private string Joined(LabelSet labels)
        {
            if (_sources.Length == 1)
            {
                return labels[_sources[0]] ?? string.Empty;
            }

            var sb = new StringBuilder();
            for (var i = 0; i < _sources.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(_separator);
                }

                sb.Append(labels[_sources[i]]);
            }

            return sb.ToString();
        }
    }
}
