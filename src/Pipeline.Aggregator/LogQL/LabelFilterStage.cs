using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Units;

namespace Pipeline.Aggregator.LogQL;

/// <summary>A label filter stage: string matchers, numeric/duration/bytes comparisons, and/or.</summary>
internal sealed class LabelFilterStage(LabelFilter filter) : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels) => Evaluate(filter, labels);

    public static bool Evaluate(LabelFilter filter, LabelsBuilder labels)
    {
        switch (filter)
        {
            case BinaryLabelFilter binary:
                {
                    var left = Evaluate(binary.Left, labels);
                    if (binary.And)
                    {
                        return left && Evaluate(binary.Right, labels);
                    }

                    return left || Evaluate(binary.Right, labels);
                }

            case StringLabelFilter s:
                return s.Matcher.Matches(labels.Get(s.Matcher.Name));
            case IpLabelFilter ip:
                return ip.Matcher.Matches(labels.Get(ip.Name)) != ip.Negate;
            case NumericLabelFilter n:
                {
                    var text = labels.Get(n.Name);
                    if (string.IsNullOrEmpty(text))
                    {
                        return false;
                    }

                    // A conversion failure keeps the line and marks it, like Loki's LabelFilterErr.
                    if (!TryConvert(text, n.Kind, out var value, out var error))
                    {
                        labels.SetError(LabelFilterError, error);
                        return true;
                    }

                    return n.Op switch
                    {
                        CompareOp.Equal => value == n.Value,
                        CompareOp.NotEqual => value != n.Value,
                        CompareOp.Greater => value > n.Value,
                        CompareOp.GreaterOrEqual => value >= n.Value,
                        CompareOp.Less => value < n.Value,
                        _ => value <= n.Value,
                    };
                }

            default:
                return true;
        }
    }

    public static bool TryConvert(string text, NumericKind kind, out double value, out string? error)
    {
        error = null;
        switch (kind)
        {
            case NumericKind.Duration:
                if (GoDuration.TryParse(text, out long ns))
                {
                    value = ns / (double)GoDuration.Second;
                    return true;
                }

                error = $"time: invalid duration \"{text}\"";
                value = 0;
                return false;
            case NumericKind.Bytes:
                if (ByteSize.TryParse(text, ByteUnits.Humanized, out value))
                {
                    return true;
                }

                error = $"strconv.ParseFloat: parsing \"{text}\": invalid syntax";
                return false;
            default:
                if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value))
                {
                    return true;
                }

                error = $"strconv.ParseFloat: parsing \"{text}\": invalid syntax";
                return false;
        }
    }
}
