using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Pipeline.LogQL.Re2;

namespace Pipeline.LogQL.Templates;

/// <summary>A template function: gets its call (arguments, entry), returns a string, long, double, bool or null.</summary>
internal delegate object? TemplateFunction(TemplateCall call);

/// <summary>
/// A function set of <see cref="GoTemplate"/>. Each function is written once here; a set names the ones it offers:
/// <see cref="Promtail"/> for the <c>template</c> and <c>replace</c> stages, <see cref="LogQL"/> for
/// <c>line_format</c> and <c>label_format</c>. Both have Go's builtins (<c>eq</c>, <c>ne</c>, <c>not</c>, <c>and</c>,
/// <c>or</c>, <c>printf</c>), the Go <c>strings</c> functions both Promtail and Loki register (<c>ToUpper</c>,
/// <c>Replace</c>, <c>TrimPrefix</c>, <c>regexReplaceAll</c>...) and the sprig functions both include (<c>lower</c>,
/// <c>trim</c>, <c>replace</c>, <c>contains</c>, <c>default</c>...); only LogQL has <c>__line__</c> and
/// <c>__timestamp__</c>, which read the entry being formatted.
/// </summary>
internal sealed class TemplateFunctions
{
    private static readonly object s_true = true;
    private static readonly object s_false = false;

    private readonly Dictionary<string, TemplateFunction> _functions;

    private TemplateFunctions(Dictionary<string, TemplateFunction> functions) => _functions = functions;

    /// <summary>Promtail's <c>template</c> stage (Go builtins, Go strings functions, sprig).</summary>
    public static TemplateFunctions Promtail { get; } = new(Common());

    /// <summary>LogQL's <c>line_format</c> and <c>label_format</c>: Promtail's set plus <c>__line__</c> and <c>__timestamp__</c>.</summary>
    public static TemplateFunctions LogQL { get; } = new(WithEntryFunctions(Common()));

    /// <summary>The functions' names, for error messages.</summary>
    public IEnumerable<string> Names => _functions.Keys;

    /// <summary>Whether the first argument of <paramref name="name"/> is a regular expression (compiled with the template when literal).</summary>
    public static bool TakesRegex(string name) => name is "regexReplaceAll" or "regexReplaceAllLiteral";

    public bool TryGet(string name, [NotNullWhen(true)] out TemplateFunction? function) => _functions.TryGetValue(name, out function);

    private static Dictionary<string, TemplateFunction> Common() => new(StringComparer.Ordinal)
    {
        // Go's text/template builtins.
        ["eq"] = Eq,
        ["ne"] = static call =>
        {
            call.Arity(2, 2);
            return Box(!Equals(call.Args[0], call.Args[1]));
        },
        ["not"] = static call =>
        {
            call.Arity(1, 1);
            return Box(!GoTemplate.Truthy(call.Args[0]));
        },
        ["and"] = static call =>
        {
            call.Arity(1, int.MaxValue);
            foreach (var arg in call.Args)
            {
                if (!GoTemplate.Truthy(arg))
                {
                    return arg;
                }
            }

            return call.Args[^1];
        },
        ["or"] = static call =>
        {
            call.Arity(1, int.MaxValue);
            foreach (var arg in call.Args)
            {
                if (GoTemplate.Truthy(arg))
                {
                    return arg;
                }
            }

            return call.Args[^1];
        },
        ["printf"] = static call =>
        {
            call.Arity(1, int.MaxValue);
            return Printf(call.String(0), call.Args[1..]);
        },

        // Go's strings package, as both Promtail and Loki register it.
        ["ToUpper"] = Upper,
        ["ToLower"] = Lower,
        ["TrimSpace"] = TrimSpace,
        ["Replace"] = static call =>
        {
            call.Arity(4, 4);
            return Replace(call.String(0), call.String(1), call.String(2), call.Integer(3));
        },
        ["Trim"] = static call =>
        {
            call.Arity(2, 2);
            return call.String(0).Trim(call.String(1).ToCharArray());
        },
        ["TrimLeft"] = static call =>
        {
            call.Arity(2, 2);
            return call.String(0).TrimStart(call.String(1).ToCharArray());
        },
        ["TrimRight"] = static call =>
        {
            call.Arity(2, 2);
            return call.String(0).TrimEnd(call.String(1).ToCharArray());
        },
        ["TrimPrefix"] = static call =>
        {
            call.Arity(2, 2);
            return TrimPrefix(call.String(0), call.String(1));
        },
        ["TrimSuffix"] = static call =>
        {
            call.Arity(2, 2);
            return TrimSuffix(call.String(0), call.String(1));
        },
        ["regexReplaceAll"] = static call =>
        {
            // regexReplaceAll REGEX SOURCE REPLACEMENT, with Go's $1 / ${name} expansion.
            call.Arity(3, 3);
            var regex = call.Regex(0);
            var input = call.String(1);
            var replacement = call.String(2);
            var builder = new StringBuilder();
            var last = 0;
            for (var m = regex.Match(input); m.Success; m = m.NextMatch())
            {
                builder.Append(input, last, m.Index - last);
                Re2Expand.Expand(builder, replacement, regex, m);
                last = m.Index + m.Length;
            }

            return builder.Append(input, last, input.Length - last).ToString();
        },
        ["regexReplaceAllLiteral"] = static call =>
        {
            call.Arity(3, 3);
            return call.Regex(0).Replace(call.String(1), call.String(2).Replace("$", "$$", StringComparison.Ordinal));
        },

        // sprig: note its argument order (the string operated on comes last, so it can be piped).
        ["upper"] = Upper,
        ["lower"] = Lower,
        ["trim"] = TrimSpace,
        ["title"] = static call =>
        {
            call.Arity(1, 1);
            return Title(call.String(0));
        },
        ["trimPrefix"] = static call =>
        {
            call.Arity(2, 2);
            return TrimPrefix(call.String(1), call.String(0));
        },
        ["trimSuffix"] = static call =>
        {
            call.Arity(2, 2);
            return TrimSuffix(call.String(1), call.String(0));
        },
        ["replace"] = static call =>
        {
            call.Arity(3, 3);
            return Replace(call.String(2), call.String(0), call.String(1), -1);
        },
        ["contains"] = static call =>
        {
            call.Arity(2, 2);
            return Box(call.String(1).Contains(call.String(0), StringComparison.Ordinal));
        },
        ["hasPrefix"] = static call =>
        {
            call.Arity(2, 2);
            return Box(call.String(1).StartsWith(call.String(0), StringComparison.Ordinal));
        },
        ["hasSuffix"] = static call =>
        {
            call.Arity(2, 2);
            return Box(call.String(1).EndsWith(call.String(0), StringComparison.Ordinal));
        },
        ["default"] = static call =>
        {
            // default DEFAULT VALUE: VALUE unless it is empty.
            call.Arity(2, 2);
            return GoTemplate.Truthy(call.Args[1]) ? call.Args[1] : call.Args[0];
        },
    };

    private static Dictionary<string, TemplateFunction> WithEntryFunctions(Dictionary<string, TemplateFunction> functions)
    {
        functions["__line__"] = static call =>
        {
            call.Arity(0, 0);
            return call.Data.Line;
        };
        functions["__timestamp__"] = static call =>
        {
            call.Arity(0, 0);
            var ns = call.Data.Timestamp;
            return DateTime.UnixEpoch.AddTicks(ns / 100).ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture);
        };
        return functions;
    }

    private static object Box(bool value) => value ? s_true : s_false;

    private static object Eq(TemplateCall call)
    {
        // eq ARG1 ARG2 ...: whether ARG1 equals any of the others.
        call.Arity(2, int.MaxValue);
        for (var i = 1; i < call.Args.Length; i++)
        {
            if (Equals(call.Args[0], call.Args[i]))
            {
                return s_true;
            }
        }

        return s_false;
    }

    private static string Upper(TemplateCall call)
    {
        call.Arity(1, 1);
        return call.String(0).ToUpperInvariant();
    }

    private static string Lower(TemplateCall call)
    {
        call.Arity(1, 1);
        return call.String(0).ToLowerInvariant();
    }

    private static string TrimSpace(TemplateCall call)
    {
        call.Arity(1, 1);
        return call.String(0).Trim();
    }

    private static string TrimPrefix(string s, string prefix) => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;

    private static string TrimSuffix(string s, string suffix) => s.EndsWith(suffix, StringComparison.Ordinal) ? s[..^suffix.Length] : s;

    /// <summary>Go's <c>strings.Replace(s, old, new, n)</c>: at most <paramref name="n"/> replacements, all when negative.</summary>
    private static string Replace(string s, string old, string replacement, long n)
    {
        if (old.Length == 0 || n == 0)
        {
            return s;
        }

        if (n < 0)
        {
            return s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var builder = new StringBuilder();
        var start = 0;
        for (var done = 0L; done < n; done++)
        {
            var at = s.IndexOf(old, start, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            builder.Append(s, start, at - start).Append(replacement);
            start = at + old.Length;
        }

        return builder.Append(s, start, s.Length - start).ToString();
    }

    /// <summary>Go's <c>strings.Title</c>: the first letter of each word upper-cased, the rest left as it is.</summary>
    private static string Title(string s)
    {
        var chars = s.ToCharArray();
        var previous = ' ';
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsLetterOrDigit(previous) && previous != '_' && previous != '\'')
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }

            previous = s[i];
        }

        return new string(chars);
    }

    /// <summary>Go's <c>fmt.Sprintf</c> for the verbs templates use: %s %v %q %d %f %g %e (with precision) and %%.</summary>
    internal static string Printf(string format, ReadOnlySpan<object?> args)
    {
        var builder = new StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                builder.Append(c);
                continue;
            }

            var j = i + 1;
            var precision = -1;
            if (format[j] == '.')
            {
                j++;
                var digits = j;
                while (j < format.Length && char.IsAsciiDigit(format[j]))
                {
                    j++;
                }

                precision = j > digits ? int.Parse(format.AsSpan(digits, j - digits), CultureInfo.InvariantCulture) : 0;
            }

            if (j >= format.Length)
            {
                builder.Append(format, i, j - i);
                break;
            }

            var verb = format[j];
            i = j;
            if (verb == '%')
            {
                builder.Append('%');
                continue;
            }

            if (next >= args.Length)
            {
                builder.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            var arg = args[next++];
            var text = arg is null ? "<nil>" : GoTemplate.Format(arg);
            switch (verb)
            {
                case 's' or 'v':
                    builder.Append(text);
                    break;
                case 'q':
                    builder.Append(Model.LabelText.Quote(text));
                    break;
                case 'd':
                    if (TryNumber(arg, out var integer))
                    {
                        builder.Append(((long)integer).ToString(CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append("%!d(string=").Append(text).Append(')');
                    }

                    break;
                case 'f' or 'g' or 'e':
                    if (TryNumber(arg, out var number))
                    {
                        var spec = (verb == 'f' ? "F" : verb == 'e' ? "E" : "G") + (precision >= 0 ? precision.ToString(CultureInfo.InvariantCulture) : verb == 'g' ? string.Empty : "6");
                        builder.Append(number.ToString(spec, CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append("%!").Append(verb).Append("(string=").Append(text).Append(')');
                    }

                    break;
                default:
                    builder.Append("%!").Append(verb).Append("(string=").Append(text).Append(')');
                    break;
            }
        }

        return builder.ToString();
    }

    private static bool TryNumber(object? value, out double number)
    {
        switch (value)
        {
            case long l:
                number = l;
                return true;
            case double d:
                number = d;
                return true;
            case string s:
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
            default:
                number = 0;
                return false;
        }
    }
}
